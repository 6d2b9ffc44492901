#!/usr/bin/env bash
# Run a command with the local infrastructure up: RabbitMQ reachable, the
# embedded MongoDB started (unless MONGODB_URL is set) and stopped afterwards, Redis
# (for limits shared across gateway replicas) when the machine has it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/ensure-rabbitmq.sh"
if [[ -z "${MONGODB_URL:-}" ]]; then
  pidfile="$root/.run/mongo.pid"
  # Stop only what this invocation started: another run may share the daemon.
  if ! { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
    "$root/scripts/mongo.sh" start
    trap '"$root/scripts/mongo.sh" stop' EXIT
  fi
  export MONGODB_URL="mongodb://127.0.0.1:${TRADEBUS_EMBEDDED_MONGO_PORT:-27017}/?directConnection=true"
fi
export RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/}"
redis_url="$("$root/scripts/ensure-redis.sh")"
if [[ -n "$redis_url" ]]; then export REDIS_URL="$redis_url"; fi
set +e
"$@"
status=$?
set -e
exit $status
