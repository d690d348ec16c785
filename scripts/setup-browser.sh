#!/usr/bin/env bash
# What the browser tests of the web chat need, idempotent:
# - Debian's Chromium (Playwright drives it; Playwright's own browser download cannot work offline);
# - the OpenID Connect provider of the sign-in test (`oidc-provider` from npm, pinned in
#   tests/oidc/package-lock.json), installed with `npm ci` into tests/oidc/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

install_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-browser: /usr/bin/chromium is missing and apt-get is not available;" >&2
    echo "install Chromium so the browser test can run (Debian/Ubuntu: apt-get install chromium)." >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "==> installing Debian's chromium for the browser test"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

install_oidc_provider() {
  local dir=tests/oidc stamp=tests/oidc/node_modules/.package-lock.json
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$dir/node_modules/.docduet-lock"; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup-browser: npm is missing; install Node.js >= 20.19 with npm for the sign-in test" >&2
    echo "(Debian: apt-get install nodejs npm)." >&2
    exit 1
  fi
  echo "==> installing the test OpenID Connect provider (npm ci in $dir)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$dir/node_modules/.docduet-lock"
}

install_chromium
install_oidc_provider
