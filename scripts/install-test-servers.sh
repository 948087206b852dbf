#!/usr/bin/env bash
# Installs the real WebDAV servers the integration tests run against:
#   - Apache 2.4 with mod_dav / mod_dav_fs (Debian packages apache2, apache2-utils for htpasswd)
#   - WsgiDAV + cheroot (pinned, from PyPI) in a venv at <repo>/.venv
#   - dbus-daemon, python3-dbus, python3-gi for the desktop-notification test
# Idempotent: skips whatever is already in place. Works as root on a fresh Debian 12, with no stdin.
# The distro apache2 service is never started: the tests run their own instances on free ports.
set -euo pipefail

WSGIDAV_VERSION="4.4.0"
CHEROOT_VERSION="11.1.2"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_install() {
    # Retried: a concurrent `apt-get update` (e.g. another job on the machine) may clean the
    # downloaded .debs under our feet on images with a docker-clean apt hook.
    local attempt
    for attempt in 1 2 3; do
        if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
            install -y --no-install-recommends "$@" </dev/null; then
            return 0
        fi
        echo "install-test-servers: apt-get install failed (attempt $attempt), retrying" >&2
        sleep 5
    done
    return 1
}

# --- Debian packages ------------------------------------------------------------------------------
need_pkgs=()
[ -x /usr/sbin/apache2 ] || need_pkgs+=(apache2)
command -v htpasswd >/dev/null 2>&1 || need_pkgs+=(apache2-utils)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
# scripts/soak takes a lock with curl.
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
# scripts/bench measures `lockwatch watch` with GNU time (peak RSS, CPU seconds) and stops it with pkill.
[ -x /usr/bin/time ] || need_pkgs+=(time)
# ... and times a one-shot `lockwatch status` with hyperfine.
command -v hyperfine >/dev/null 2>&1 || need_pkgs+=(hyperfine)
command -v pkill >/dev/null 2>&1 || need_pkgs+=(procps)
# `python3 -m venv` needs ensurepip (Debian ships it separately in python3-venv).
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then need_pkgs+=(python3-venv); fi
# The desktop-notification test: a private session bus (dbus-daemon) and a listener written with
# the system Python's D-Bus and GLib bindings.
command -v dbus-daemon >/dev/null 2>&1 || need_pkgs+=(dbus-daemon)
if ! /usr/bin/python3 -c 'import dbus, dbus.mainloop.glib; from gi.repository import GLib' >/dev/null 2>&1; then
    need_pkgs+=(python3-dbus python3-gi)
fi

if [ "${#need_pkgs[@]}" -gt 0 ]; then
    echo "install-test-servers: installing ${need_pkgs[*]}"
    # Refresh the package lists only when they are missing or older than a day.
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
        $SUDO apt-get -o DPkg::Lock::Timeout=600 update </dev/null
    fi
    # Keep the package's maintainer scripts from starting the system apache2 on port 80.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    trap '[ "$created_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    apt_install "${need_pkgs[@]}"
    if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
    trap - EXIT
fi

# If a system apache2 got started anyway (e.g. no policy-rc.d honoured), stop it: tests never use it.
if [ -r /var/run/apache2/apache2.pid ] && kill -0 "$(cat /var/run/apache2/apache2.pid)" 2>/dev/null; then
    echo "install-test-servers: stopping the system apache2 (not used by the tests)"
    $SUDO /usr/sbin/apache2ctl stop >/dev/null 2>&1 || $SUDO kill "$(cat /var/run/apache2/apache2.pid)" || true
fi

# --- WsgiDAV venv ---------------------------------------------------------------------------------
want="wsgidav==$WSGIDAV_VERSION cheroot==$CHEROOT_VERSION"
have=""
if [ -x "$VENV/bin/python" ]; then
    have="$("$VENV/bin/python" - <<'PY' 2>/dev/null || true
from importlib.metadata import version
print(f"wsgidav=={version('wsgidav')} cheroot=={version('cheroot')}")
PY
)"
fi
if [ "$have" != "$want" ] || [ ! -x "$VENV/bin/wsgidav" ]; then
    echo "install-test-servers: setting up $VENV ($want)"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
        "wsgidav==$WSGIDAV_VERSION" "cheroot==$CHEROOT_VERSION"
fi

echo "install-test-servers: $(/usr/sbin/apache2 -v | head -n1 | sed 's/^Server version: //'); wsgidav $("$VENV/bin/wsgidav" --version 2>&1 | tail -n1)"
