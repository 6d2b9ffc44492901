#!/usr/bin/env bash
# Install the pinned npm dependencies of each folder given (default: every Node package of
# the repository) unless that exact package.json is already installed. No lockfile is
# written (`--no-package-lock`; package.json pins exact versions), install scripts do not
# run, and concurrent callers wait for one another.
set -euo pipefail
cd "$(dirname "$0")/.."
folders=("$@")
if [[ ${#folders[@]} -eq 0 ]]; then
  folders=(examples/node-subscriber tests/support/asyncapi)
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is not installed: install Node.js >= 18 with npm (e.g. apt-get install -y nodejs npm)" >&2
    exit 1
  fi
done
for folder in "${folders[@]}"; do
  digest="$(sha256sum "$folder/package.json" | cut -d' ' -f1)"
  stamp="$folder/node_modules/.tradebus-installed"
  (
    flock 9
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
      exit 0
    fi
    echo "npm install in $folder ..." >&2
    (cd "$folder" && npm install --no-package-lock --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
    echo "$digest" >"$stamp"
  ) 9>"$folder/.install.lock"
done
