#!/usr/bin/env bash
# Usage: scripts/with-keyring.sh CMD [ARGS...]
#
# Runs CMD inside a PRIVATE D-Bus session with a throwaway, unlocked GNOME keyring
# (the real Secret Service backend), then returns CMD's exit code.
#
# - Everything lives in a temp dir: XDG_DATA_HOME (keyrings are stored in
#   $XDG_DATA_HOME/keyrings) so the user's real keyring is never read or touched
#   (a real "login" keyring has another password, could not be unlocked and would prompt).
# - The daemon always gets a private XDG_RUNTIME_DIR (its control socket lives there),
#   so it cannot clash with a desktop session's gnome-keyring; CMD keeps the caller's
#   XDG_RUNTIME_DIR, or gets the private one (0700) if none was set.
# - How the default collection appears: `gnome-keyring-daemon --unlock` reads the
#   password on stdin and, when $XDG_DATA_HOME/keyrings/login.keyring does not exist,
#   CREATES the "login" keyring with that password, unlocked, and makes it the
#   "default" alias (checked with gnome-keyring 42.1 on Debian 12). No prompt is
#   involved, so it works without a terminal or display. (Creating a collection
#   through the Secret Service API instead, e.g. with secretstorage, needs a GUI
#   prompter and fails headless.) Without --start/--foreground the daemon forks and
#   the parent returns once it is on the bus, so there is no start-up race.
# - It also exits by itself when the private bus goes away; we kill it explicitly too.
# - PYTHON_KEYRING_BACKEND pins python-keyring to Secret Service so it can never
#   silently fall back to another backend (e.g. a plaintext/fail backend).
# Works as root or non-root, with or without a terminal on stdin.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "with-keyring: ERROR: $tool not found (run scripts/ensure-keyring-deps.sh)" >&2
        exit 1
    }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chorus-keyring.XXXXXX")
cleanup() {
    # Retry: if the daemon could not be stopped explicitly it may still be writing
    # for a moment after the bus went away.
    local i
    for i in 1 2 3 4 5; do
        rm -rf "$tmp" 2>/dev/null || true
        [[ -e "$tmp" ]] || return 0
        sleep 0.3
    done
}
trap cleanup EXIT
mkdir -p "$tmp/data" "$tmp/run"
chmod 0700 "$tmp" "$tmp/run"

export XDG_DATA_HOME="$tmp/data"
export WITH_KEYRING_RUNTIME_DIR="$tmp/run"
export WITH_KEYRING_STARTED="$tmp/started"
if [[ -z "${XDG_RUNTIME_DIR:-}" ]]; then
    export XDG_RUNTIME_DIR="$tmp/run"
fi
# Never talk to a keyring daemon from the caller's session.
unset GNOME_KEYRING_CONTROL GNOME_KEYRING_PID

# Not `exec`: this shell stays around so the EXIT trap removes the temp dir even if
# dbus-run-session itself fails. The inner shell cleans up the daemon.
# The bus daemon writes to stderr what does not concern CMD (it cannot raise its fd limit
# when unprivileged in a container; Chromium's request for the accessibility bus): its stderr
# goes to a log, shown only if the session could not be set up. CMD gets the caller's stderr
# back through fd 3.
rc=0
dbus-run-session -- bash -c '
    exec 2>&3 3>&-
    set -euo pipefail
    daemon_pid=""
    # Stop the daemon and wait (max ~3 s) until it is gone, so it cannot write into
    # the temp dir while the outer shell removes it. It is not our child (it forked),
    # so poll /proc; an exited-but-unreaped (zombie) daemon counts as gone.
    stop_daemon() {
        [[ -n "$daemon_pid" ]] || return 0
        kill "$daemon_pid" 2>/dev/null || return 0
        local i state
        for i in $(seq 30); do
            state=$(awk "{print \$3}" "/proc/$daemon_pid/stat" 2>/dev/null) || break
            [[ -z "$state" || "$state" == Z ]] && break
            sleep 0.1
        done
        return 0
    }
    trap stop_daemon EXIT
    trap "exit 130" INT
    trap "exit 143" TERM

    pw=$(od -An -N16 -tx1 /dev/urandom | tr -d " \n")
    export XDG_RUNTIME_DIR_CALLER="${XDG_RUNTIME_DIR:-}"
    export XDG_RUNTIME_DIR="$WITH_KEYRING_RUNTIME_DIR"   # daemon side only, restored below
    # 1) --unlock: fork a daemon that creates + unlocks the "login" keyring (= default).
    printf "%s" "$pw" | gnome-keyring-daemon --unlock --components=secrets >/dev/null || {
        echo "with-keyring: ERROR: gnome-keyring-daemon --unlock failed" >&2; exit 1; }
    unset pw
    # 2) --start: finds that daemon through $XDG_RUNTIME_DIR/keyring/control and makes
    #    it register org.freedesktop.secrets on OUR bus. Without this step the name is
    #    only D-Bus-activated on first use, by a second daemon spawned with the bus
    #    environment, which then lingers after the session ends.
    out=$(gnome-keyring-daemon --start --components=secrets 2>/dev/null) || {
        echo "with-keyring: ERROR: gnome-keyring-daemon --start failed" >&2; exit 1; }
    # It may print VAR=value lines (e.g. GNOME_KEYRING_CONTROL); export them.
    while IFS= read -r line; do
        if [[ "$line" =~ ^[A-Z_]+=.+$ ]]; then export "$line"; fi
    done <<< "$out"
    export GNOME_KEYRING_CONTROL="${GNOME_KEYRING_CONTROL:-$XDG_RUNTIME_DIR/keyring}"
    export XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR_CALLER"
    unset XDG_RUNTIME_DIR_CALLER

    if command -v dbus-send >/dev/null 2>&1; then
        # PID of the daemon (for cleanup), and check the default collection is unlocked.
        daemon_pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus \
            /org/freedesktop/DBus org.freedesktop.DBus.GetConnectionUnixProcessID \
            string:org.freedesktop.secrets 2>/dev/null | awk "/uint32/ {print \$2}") || true
        if [[ -z "$daemon_pid" ]]; then
            echo "with-keyring: ERROR: no Secret Service on the private bus" >&2
            exit 1
        fi
        locked=$(dbus-send --session --print-reply --dest=org.freedesktop.secrets \
            /org/freedesktop/secrets/aliases/default org.freedesktop.DBus.Properties.Get \
            string:org.freedesktop.Secret.Collection string:Locked 2>&1 \
            | awk "/boolean/ {print \$3}") || true
        if [[ "$locked" != "false" ]]; then
            echo "with-keyring: ERROR: default keyring collection missing or locked" >&2
            exit 1
        fi
    fi

    export PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring
    unset WITH_KEYRING_RUNTIME_DIR
    rc=0
    : >"$WITH_KEYRING_STARTED"
    unset WITH_KEYRING_STARTED
    "$@" || rc=$?
    exit "$rc"
' with-keyring "$@" 3>&2 2>"$tmp/bus.log" || rc=$?
if [[ $rc -ne 0 && ! -e "$tmp/started" ]]; then
    cat "$tmp/bus.log" >&2
fi
exit "$rc"
