#!/usr/bin/env bash
# Debian packages the test suite drives for real: LibreOffice opens the
# workbooks we write; Chromium runs the web pages' browser tests (Playwright drives
# /usr/bin/chromium; it never downloads a browser). Installed only when missing,
# and only where we may.
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${need[*]} (install them with your package manager); the tests that need them will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
