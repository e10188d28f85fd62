#!/bin/sh
# Usage: system-packages PACKAGE...  (Debian package names; called by the Makefile)
# Installs the packages whose programs are missing, when run as root on Debian/Ubuntu;
# otherwise prints the command to run. Exits non-zero only when an install was tried and failed.
missing=""
for pkg in "$@"; do
    case "$pkg" in
        postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
                        || command -v initdb >/dev/null || missing="$missing $pkg" ;;
        *) command -v "$pkg" >/dev/null || missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null || {
        echo "error: apt-get install$missing failed (see above)" >&2; exit 1; }
else
    echo "note: missing system packages:$missing. Install them with"
    echo "      sudo apt-get install -y$missing"
    echo "      (without them the tests that need them are skipped and the default corpus holds"
    echo "      the CMU ARCTIC clips only)"
fi
