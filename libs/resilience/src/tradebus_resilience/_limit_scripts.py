"""The Lua scripts behind the shared limits: each check is one round trip to Redis, and an
online call's two checks (the tenant's rate, then its in-flight budget) are one script,
which also leases units and pools slots for a replica far from the limits (_credit.py).

The server's clock (`TIME`) decides windows and expiries, so replicas' clocks never
disagree. A rate is a hash per subject: `w` the current window's index, `c` its count,
`p` the previous window's count (the sliding-window counter: the previous window weighs
what is left of it in the current one, an approximation that needs no log per request).
An in-flight budget is a sorted set per key: a member per holder, scored by when its hold
ends, so a replica that dies holding slots gives them back by then."""

from __future__ import annotations

# Takes `want` units when after them the subject is still at most half its limit (a
# replica's lease: _credit.py), else one; returns how many were taken, or {0, count,
# previous, elapsed ms} (the inputs of `sliding_rate.wait_seconds`) when not even one
# fits. A refusal writes nothing.
_LIBRARY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function take_rate(key, limit, window, want)
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
  local weighted = math.floor(previous * (window - elapsed) / window) + count
  if weighted + 1 > limit then
    return {0, count, previous, elapsed}
  end
  local taken = 1
  if want > 1 and weighted + want <= limit / 2 then taken = want end
  redis.call('HSET', key, 'w', index, 'c', count + taken, 'p', previous)
  redis.call('PEXPIRE', key, 2 * window)
  return taken
end

-- ARGV[first..]: tokens this replica released that Redis may still hold (their removal
-- was sent, or is about to be): removed first, so a replica never refuses itself a slot
-- it has already given back.
-- With `pool` > 0, a slot taken while the budget stays at most half used is held `pool`
-- ms longer, for the replica to reuse (_credit.py). Returns 0 (the budget is full), 1
-- (held), 2 (held, and poolable).
local function take_slot(key, limit, token, hold, pool, first)
  if #ARGV >= first then redis.call('ZREM', key, unpack(ARGV, first)) end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local held = redis.call('ZCARD', key)
  if held >= limit then return 0 end
  local pooled = pool > 0 and held + 1 <= limit / 2
  if pooled then hold = hold + pool end
  redis.call('ZADD', key, now + hold, token)
  -- The set lives as long as its longest hold, never shorter (holds differ per call).
  if redis.call('PTTL', key) < hold then redis.call('PEXPIRE', key, hold) end
  if pooled then return 2 end
  return 1
end
"""

# KEYS[1]: a rate. ARGV: limit, window (ms). Returns {1} or the refusal.
RATE = (
    _LIBRARY
    + """
local taken = take_rate(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 1)
if type(taken) == 'table' then return taken end
return {1}
"""
)

# KEYS[1]: an in-flight budget. ARGV: limit, token, hold (ms), released tokens...
# Returns 1 (held) or 0 (the budget is full).
IN_FLIGHT = (
    _LIBRARY
    + """
if take_slot(KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), 0, 4) > 0 then return 1 end
return 0
"""
)

# An online call's units of the rate and its slot. KEYS[1]: a rate, KEYS[2]: an in-flight
# budget. ARGV: rate limit, window (ms), in-flight limit, token ('' when the replica has a
# slot already), hold (ms), pool (ms), units wanted (0 when the replica has one already),
# released tokens... The rate is taken first, as a request is counted whether or not a
# slot is free. Returns the rate's refusal, or {1, units taken, slot} with slot -1 (none
# asked), 0 (the budget full), 1 (held) or 2 (held, poolable).
ADMIT = (
    _LIBRARY
    + """
local taken = 0
if tonumber(ARGV[7]) > 0 then
  taken = take_rate(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[7]))
  if type(taken) == 'table' then return taken end
end
if ARGV[4] == '' then
  if #ARGV >= 8 then redis.call('ZREM', KEYS[2], unpack(ARGV, 8)) end
  return {1, taken, -1}
end
local slot = take_slot(KEYS[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]),
  tonumber(ARGV[6]), 8)
return {1, taken, slot}
"""
)
