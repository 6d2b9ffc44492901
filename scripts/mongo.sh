#!/usr/bin/env bash
# Start/stop the embedded MongoDB-wire-compatible server (SecantusDB) used for
# development and tests only. Skipped entirely when MONGODB_URL is set.
#   scripts/mongo.sh start   -> prints nothing, writes .run/mongo.pid
#   scripts/mongo.sh stop    -> SIGTERM, waits for exit, then removes the data
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
run="$root/.run"
pidfile="$run/mongo.pid"
data="$run/mongo-data"
port="${TRADEBUS_EMBEDDED_MONGO_PORT:-27017}"
bin="$root/.venv/bin/secantusd-py"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  if [[ -n "${MONGODB_URL:-}" ]]; then exit 0; fi
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
  if answers; then
    echo "port $port is taken by another process; set MONGODB_URL or TRADEBUS_EMBEDDED_MONGO_PORT" >&2
    exit 1
  fi
  mkdir -p "$data"
  "$bin" --host 127.0.0.1 --port "$port" --storage-path "$data" >"$run/mongo.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 100); do
    if answers; then exit 0; fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "embedded MongoDB did not start; see $run/mongo.log" >&2
  tail -20 "$run/mongo.log" >&2 || true
  exit 1
}

stop() {
  [[ -f "$pidfile" ]] || exit 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    # Deleting the data before the process exits crashes its storage engine.
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" && sleep 0.5
  fi
  rm -f "$pidfile"
  rm -rf "$data"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
