#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers on 127.0.0.1:5672 (or RABBITMQ_URL's host).
# Starts the machine's rabbitmq-server when it is installed but stopped.
set -euo pipefail
host="${RABBITMQ_HOST:-127.0.0.1}"
port="${RABBITMQ_PORT:-5672}"

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
mgmt_answers() { (exec 3<>"/dev/tcp/$host/15672") 2>/dev/null; }

# The management API serves `tradebus topology verify` and queue inspection.
enable_management() {
  if [[ "$host" == "127.0.0.1" ]] && ! mgmt_answers && command -v rabbitmq-plugins >/dev/null; then
    rabbitmq-plugins enable rabbitmq_management >/dev/null
    for _ in $(seq 30); do mgmt_answers && return 0; sleep 0.5; done
    echo "warning: the RabbitMQ management API did not come up on :15672" >&2
  fi
}

if answers; then enable_management; exit 0; fi
if [[ -n "${RABBITMQ_URL:-}" && "$host" != "127.0.0.1" ]]; then
  echo "RabbitMQ at $host:$port does not answer (RABBITMQ_URL=$RABBITMQ_URL)." >&2
  exit 1
fi
if ! command -v rabbitmq-server >/dev/null; then
  cat >&2 <<MSG
RabbitMQ is not reachable at $host:$port and rabbitmq-server is not installed.
Install and start one, e.g.:  apt-get install -y rabbitmq-server && rabbitmq-server -detached
or point RABBITMQ_URL at a running broker.
MSG
  exit 1
fi
echo "starting rabbitmq-server ..." >&2
rabbitmq-server -detached
for _ in $(seq 90); do
  if rabbitmqctl -q await_startup >/dev/null 2>&1 && answers; then
    echo "rabbitmq is up" >&2
    enable_management
    exit 0
  fi
  sleep 1
done
echo "rabbitmq-server did not come up within 90 s; see /var/log/rabbitmq" >&2
exit 1
