#!/usr/bin/env bash
# Print the Redis URL the services share limits through, starting the machine's
# redis-server when it is installed but stopped. Prints nothing when there is no Redis:
# the gateway then keeps its limits per replica (it works, the limits just do not add up
# across replicas).
set -euo pipefail
if [[ -n "${REDIS_URL:-}" ]]; then echo "$REDIS_URL"; exit 0; fi
port="${TRADEBUS_REDIS_PORT:-6379}"
url="redis://127.0.0.1:$port/0"
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if answers; then echo "$url"; exit 0; fi
if ! command -v redis-server >/dev/null; then
  echo "note: no Redis on 127.0.0.1:$port and redis-server is not installed;" \
    "gateway limits stay per replica" >&2
  exit 0
fi
# Nothing persisted: limits are short-lived counters.
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes >/dev/null
for _ in $(seq 50); do
  if answers; then echo "$url"; exit 0; fi
  sleep 0.1
done
echo "warning: redis-server did not answer on :$port; gateway limits stay per replica" >&2
