#!/usr/bin/env bash
# Command-line tools the offline deploy checks need, from the distribution's packages:
# promtool (package `prometheus`) checks and unit-tests the alert rules. Installs what is
# missing when we are root with apt-get; otherwise the tests say what to install.
set -euo pipefail
declare -A packages=([promtool]=prometheus)
missing=()
for tool in "${!packages[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${packages[$tool]}")
done
((${#missing[@]})) || exit 0
if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  echo "installing ${missing[*]} ..." >&2
  # A stale package list is the usual reason an install fails: refresh once, then retry.
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "warning: install ${missing[*]} (apt-get install -y ${missing[*]})" >&2
fi
