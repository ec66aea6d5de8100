#!/usr/bin/env bash
# Installs Debian packages with apt-get when the program they provide is missing; does
# nothing when it is there, so it is safe to run again.
#   scripts/install-apt-package.sh PROGRAM WHAT_NEEDS_IT PACKAGE...
#   e.g. scripts/install-apt-package.sh java "the Spark tests" openjdk-17-jre-headless
# Needs root (CI runs as root) or sudo. Where neither is available it warns and the tests
# that need PROGRAM skip, except under CI (CI set), where a missing program is an error.
set -euo pipefail

PROGRAM=$1
NEEDED_BY=$2
shift 2
command -v "$PROGRAM" >/dev/null 2>&1 && exit 0

cannot() {
    echo "install-apt-package: $1; $NEEDED_BY will be skipped" >&2
    [[ -n "${CI:-}" ]] && exit 1
    exit 0
}

if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    cannot "$PROGRAM is missing and installing it needs root"
fi
command -v apt-get >/dev/null 2>&1 || cannot "$PROGRAM is missing and there is no apt-get"

echo "install-apt-package: installing $* for $NEEDED_BY (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null || cannot "apt-get update failed"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || cannot "apt-get install $* failed"
command -v "$PROGRAM" >/dev/null 2>&1 || cannot "apt-get installed $* but $PROGRAM is missing"
