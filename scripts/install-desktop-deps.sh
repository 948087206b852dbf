#!/usr/bin/env bash
# Installs what the desktop app needs to build, run and be tested end to end on Debian 12:
#   - build: the WebKitGTK 4.1, GTK, appindicator (tray), rsvg and xdo development packages Tauri 2 links to
#   - run headless / test: Xvfb, a private D-Bus session, WebKitWebDriver, ImageMagick (screenshots),
#     a system tray for the tray icon (trayer, XEmbed) and xdotool to click it, python3-dbus / python3-gi
#     for the notification server and the StatusNotifier host the tests run on the session bus
# Idempotent: installs only the packages that are missing. Works as root (or with sudo), with no stdin.
# With --run-only it installs what `scripts/run` needs to build and start the app (no test tools).
set -euo pipefail

build_pkgs=(build-essential pkg-config curl file libssl-dev libdbus-1-dev
    libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev)
test_pkgs=(xvfb xauth dbus webkit2gtk-driver imagemagick x11-utils trayer xdotool
    python3-dbus python3-gi)

want=("${build_pkgs[@]}")
if [ "${1:-}" != "--run-only" ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for pkg in "${want[@]}"; do
    # `dpkg-query` exits 0 for removed-but-configured packages too; check the status word.
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "installed" ]; then
        missing+=("$pkg")
    fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "install-desktop-deps: installing ${missing[*]}"
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update </dev/null
fi
for attempt in 1 2 3; do
    # Retried: a concurrent apt run on the machine may clean downloaded .debs under our feet.
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y --no-install-recommends "${missing[@]}" </dev/null; then
        exit 0
    fi
    echo "install-desktop-deps: apt-get install failed (attempt $attempt), retrying" >&2
    sleep 5
done
exit 1
