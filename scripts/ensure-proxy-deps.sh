#!/usr/bin/env bash
# Make sure tinyproxy exists: the proxy tests (tests/test_proxy.py) start their own on a free
# loopback port, with a generated config. As root with apt-get, installs it; otherwise explains.
# Only the binary is wanted: the system's own tinyproxy service is not started.
set -euo pipefail

say() { echo "ensure-proxy-deps: $*"; }

if command -v tinyproxy >/dev/null 2>&1 || [[ -x /usr/bin/tinyproxy ]] || [[ -x /usr/sbin/tinyproxy ]]; then
    say "ok (tinyproxy)"
    exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "missing tinyproxy; installing with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # The package would start the system's tinyproxy on port 8888. Debian's maintainer
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
    apt-get install -y -qq --no-install-recommends tinyproxy >/dev/null
    if [[ $made_policy == yes && -d /run/systemd/system ]]; then
        # Nor at the next boot: the tests start their own instance.
        systemctl disable --quiet tinyproxy.service 2>/dev/null || true
    fi
    [[ -x /usr/bin/tinyproxy ]] || command -v tinyproxy >/dev/null 2>&1 \
        || { echo "ensure-proxy-deps: ERROR: install finished but tinyproxy still missing" >&2; exit 1; }
    say "ok (installed tinyproxy; the system service was not started)"
    exit 0
fi

cat >&2 <<MSG
ensure-proxy-deps: ERROR: missing tinyproxy.
  The proxy tests run the portal and PISTE traffic through a real proxy. Install:
    Debian/Ubuntu: sudo apt-get install tinyproxy
    Fedora:        sudo dnf install tinyproxy
MSG
exit 1
