#!/usr/bin/env bash
# Make sure the mail servers the tests start themselves exist: Dovecot's IMAP server (the
# manager's mailbox for the e-mailed second-factor code; tests/mailserver.py runs a private
# instance on 127.0.0.1 with a generated config). SMTP in the tests is aiosmtpd, a Python
# package of the test extra. As root with apt-get, installs dovecot-imapd without starting or
# enabling the system's own Dovecot; otherwise explains.
set -euo pipefail

say() { echo "ensure-test-servers: $*"; }

have_dovecot() {
    # /usr/sbin may not be on a non-root user's PATH.
    command -v dovecot >/dev/null 2>&1 || [[ -x /usr/sbin/dovecot ]]
}

if have_dovecot; then
    say "ok (dovecot)"
    exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "missing dovecot; installing dovecot-imapd with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # The package would start the system's Dovecot on ports 143/993. Debian's maintainer
    # scripts ask policy-rc.d first: deny (101) for the time of the install, unless the
    # machine already has its own policy (containers usually do).
    policy=/usr/sbin/policy-rc.d
    made_policy=no
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=yes
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq || { sleep 5; apt-get update -qq; }
    apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
    if [[ $made_policy == yes && -d /run/systemd/system ]]; then
        # Nor at the next boot: the tests start their own instance.
        systemctl disable --quiet dovecot.service dovecot.socket 2>/dev/null || true
    fi
    have_dovecot || { echo "ensure-test-servers: ERROR: install finished but dovecot is still missing" >&2; exit 1; }
    say "ok (installed dovecot-imapd; the system service was not started)"
    exit 0
fi

cat >&2 <<MSG
ensure-test-servers: ERROR: missing dovecot (the IMAP server the tests start on 127.0.0.1).
  Install it (the tests never use the system's own instance; you may disable it):
    Debian/Ubuntu: sudo apt-get install dovecot-imapd
    Fedora:        sudo dnf install dovecot
MSG
exit 1
