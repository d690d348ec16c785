#!/usr/bin/env bash
# Debian's Chromium for the end-to-end browser test of the web chat (Playwright drives it;
# Playwright's own browser download cannot work offline). Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: /usr/bin/chromium is missing and apt-get is not available;" >&2
  echo "install Chromium so the browser test can run (Debian/Ubuntu: apt-get install chromium)." >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "==> installing Debian's chromium for the browser test"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
