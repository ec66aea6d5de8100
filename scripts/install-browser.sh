#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium, which the report's render test drives
# (pytests/test_report.py). Does nothing when it is already there; safe to run again.
# Needs root (CI runs as root) or sudo. Where neither is available it warns and the render
# test skips, except under CI (CI set), where a missing browser is an error.
set -euo pipefail

BROWSER=/usr/bin/chromium
[[ -x "$BROWSER" ]] && exit 0

cannot() {
    echo "install-browser: $1; the report's render test will be skipped" >&2
    [[ -n "${CI:-}" ]] && exit 1
    exit 0
}

if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    cannot "$BROWSER is missing and installing it needs root"
fi
command -v apt-get >/dev/null 2>&1 || cannot "$BROWSER is missing and there is no apt-get"

echo "install-browser: installing Debian's chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null || cannot "apt-get update failed"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation \
    >/dev/null || cannot "apt-get install chromium failed"
[[ -x "$BROWSER" ]] || cannot "apt-get installed chromium but $BROWSER is missing"
