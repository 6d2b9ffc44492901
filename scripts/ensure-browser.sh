#!/usr/bin/env bash
# Make sure a headless Chromium is available for browser tests, and print its path.
# Uses the distribution's package (Playwright drives it through `executable_path`;
# Playwright's own browser download is not used). Installs it when missing and we are
# root with apt-get; otherwise says what to install. Set CHROMIUM to use another binary.
set -euo pipefail

find_browser() {
  local candidate
  for candidate in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if path="$(find_browser)"; then
  echo "$path"
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing chromium ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # A stale package list is the usual reason an install fails: refresh once, then retry.
  if ! apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium >/dev/null
  fi
  if path="$(find_browser)"; then
    echo "$path"
    exit 0
  fi
fi

cat >&2 <<MSG
No Chromium found (looked at \$CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser).
Install one, e.g.:  apt-get install -y chromium   (or set CHROMIUM=/path/to/chrome)
MSG
exit 1
