#!/usr/bin/env bash
# Make sure the tools scripts/with-keyring.sh needs exist: dbus-run-session and
# gnome-keyring-daemon. As root with apt-get, installs them; otherwise explains.
set -euo pipefail

say() { echo "ensure-keyring-deps: $*"; }

missing=()
command -v dbus-run-session >/dev/null 2>&1 || missing+=(dbus-run-session)
command -v gnome-keyring-daemon >/dev/null 2>&1 || missing+=(gnome-keyring-daemon)

if [[ ${#missing[@]} -eq 0 ]]; then
    say "ok (dbus-run-session, gnome-keyring-daemon)"
    exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "missing ${missing[*]}; installing with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # 'dbus' provides dbus-run-session (via dbus-bin) and the daemon;
    # 'gnome-keyring' provides gnome-keyring-daemon. dbus-x11 (dbus-launch) is not needed.
    pkgs=(dbus gnome-keyring)
    apt-get update -qq || { sleep 5; apt-get update -qq; }
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    command -v dbus-run-session >/dev/null 2>&1 && command -v gnome-keyring-daemon >/dev/null 2>&1 \
        || { echo "ensure-keyring-deps: ERROR: install finished but tools still missing" >&2; exit 1; }
    say "ok (installed ${pkgs[*]})"
    exit 0
fi

cat >&2 <<MSG
ensure-keyring-deps: ERROR: missing ${missing[*]}.
  Tests run against a throwaway GNOME keyring in a private D-Bus session. Install:
    Debian/Ubuntu: sudo apt-get install dbus gnome-keyring
    Fedora:        sudo dnf install dbus-daemon gnome-keyring
MSG
exit 1
