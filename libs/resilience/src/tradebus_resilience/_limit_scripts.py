"""The Lua scripts behind the shared limits: each check is one round trip to Redis, and an
online call's two checks (the tenant's rate, then its in-flight budget) are one script.

The server's clock (`TIME`) decides windows and expiries, so replicas' clocks never
disagree. A rate is a hash per subject: `w` the current window's index, `c` its count,
`p` the previous window's count (the sliding-window counter: the previous window weighs
what is left of it in the current one, an approximation that needs no log per request).
An in-flight budget is a sorted set per key: a member per holder, scored by when its hold
ends, so a replica that dies holding slots gives them back by then."""

from __future__ import annotations

# Returns nil when a unit was taken, else {0, count, previous, elapsed ms} (the inputs of
# `sliding_rate.wait_seconds`). A refusal writes nothing.
_LIBRARY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function take_rate(key, limit, window)
  local index = math.floor(now / window)
  local elapsed = now - index * window
  local state = redis.call('HMGET', key, 'w', 'c', 'p')
  local seen, count, previous = tonumber(state[1]), tonumber(state[2]) or 0, 0
  if seen == index then
    previous = tonumber(state[3]) or 0
  else
    if seen == index - 1 then previous = count end
    count = 0
  end
  if math.floor(previous * (window - elapsed) / window) + count + 1 > limit then
    return {0, count, previous, elapsed}
  end
  redis.call('HSET', key, 'w', index, 'c', count + 1, 'p', previous)
  redis.call('PEXPIRE', key, 2 * window)
  return nil
end

-- ARGV[first..]: tokens this replica released that Redis may still hold (their removal
-- was sent, or is about to be): removed first, so a replica never refuses itself a slot
-- it has already given back.
local function take_slot(key, limit, token, hold, first)
  if #ARGV >= first then redis.call('ZREM', key, unpack(ARGV, first)) end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= limit then return false end
  redis.call('ZADD', key, now + hold, token)
  -- The set lives as long as its longest hold, never shorter (holds differ per call).
  if redis.call('PTTL', key) < hold then redis.call('PEXPIRE', key, hold) end
  return true
end
"""

# KEYS[1]: a rate. ARGV: limit, window (ms). Returns {1} or the refusal.
RATE = (
    _LIBRARY
    + """
return take_rate(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])) or {1}
"""
)

# KEYS[1]: an in-flight budget. ARGV: limit, token, hold (ms), released tokens...
# Returns 1 (held) or 0 (the budget is full).
IN_FLIGHT = (
    _LIBRARY
    + """
if take_slot(KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), 4) then return 1 end
return 0
"""
)

# KEYS[1]: a rate, KEYS[2]: an in-flight budget. ARGV: rate limit, window (ms), in-flight
# limit, token, hold (ms), released tokens... The rate is taken first, as a request is
# counted whether or not a slot is free. Returns {1} (a unit and a slot taken), the
# rate's refusal, or {2} (the unit taken, the budget full).
ADMIT = (
    _LIBRARY
    + """
local refused = take_rate(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if refused then return refused end
if take_slot(KEYS[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), 6) then return {1} end
return {2}
"""
)
