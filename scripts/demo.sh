#!/usr/bin/env bash
# `make demo`: the real job against the local mock portal, in a throwaway keyring.
# Runs inside scripts/with-keyring.sh, so nothing touches your own keyring or config.
#   PORTAL=2017 (default): the seed's documented path through the DGFiP portal.
#   PORTAL=2026: today's Chorus Pro: its own login, the mandatory second factor (TOTP), the
#                documented path and the `Raccordements` one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORTAL=${PORTAL:-2017}
case "$PORTAL" in
    2017) flavour=() ;;
    2026) flavour=(--flavour 2026) ;;
    *) echo "demo: PORTAL must be 2017 or 2026, not '$PORTAL'" >&2; exit 2 ;;
esac

# The project's interpreter: `make demo` sets up .venv; VPY=… points at another one.
VPY=${VPY:-.venv/bin/python}
BOT=("$VPY" -m bot)
SIRET=93319084500067   # a structure of the mock whose password expires in 20 days
work=$(mktemp -d)
export CHORUS_BOT_STATE_DIR="$work/state" CHORUS_BOT_CONFIG="$work/config.toml"
unset CHORUS_BOT_USERNAME CHORUS_BOT_PASSWORD

"$VPY" -m fixtures.mock_portal --port 0 "${flavour[@]}" >"$work/portal.out" 2>"$work/portal.err" &
portal_pid=$!
trap 'kill "$portal_pid" 2>/dev/null; wait "$portal_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    grep -q "listening on" "$work/portal.out" 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/portal.out")
[[ -n "$url" ]] || { echo "demo: the mock portal did not start" >&2; cat "$work/portal.err" >&2; exit 1; }
export CHORUS_BOT_PORTAL_URL="$url"

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }
run() { "$@" || echo "(exit code $?)"; }

echo "Mock portal ($PORTAL): $url   (demo manager: claire.martin, a throwaway keyring)"

step "Store the portal manager's password in the keyring (read from stdin, never argv)" \
    "chorus-bot credentials set --identifiant claire.martin --password-stdin"
printf '%s\n' 'Portail-Demo-2026!' | "${BOT[@]}" credentials set --identifiant claire.martin --password-stdin

if [[ "$PORTAL" == 2026 ]]; then
    # Today's Chorus Pro always asks for a second factor: the authenticator's secret (the
    # mock account's, from its seed) lets runs go unattended.
    step "Store the authenticator (TOTP) secret: the second factor, unattended" \
        "chorus-bot credentials set --totp --password-stdin"
    "$VPY" -c 'import json; print(json.load(open("fixtures/mock_portal/seed.json"))["accounts"][0]["totp_secret"])' \
        | "${BOT[@]}" credentials set --totp --identifiant claire.martin --password-stdin

    step "Read the expiry date; --path auto takes the documented path, the portal has it (exit 3)" \
        "chorus-bot check --structure $SIRET --json"
    run "${BOT[@]}" check --structure "$SIRET" --json

    step "Reset through Raccordements: the password is read and stored BEFORE Soumettre" \
        "chorus-bot reset --structure $SIRET --path raccordements"
    run "${BOT[@]}" reset --structure "$SIRET" --path raccordements

    step "Read the expiry again with --path raccordements: the form shows none, so it is read on the structure page, which this portal has (expiry_source)" \
        "chorus-bot check --structure $SIRET --path raccordements --json"
    run "${BOT[@]}" check --structure "$SIRET" --path raccordements --json
else
    step "Read the expiry date (exit 3: it expires within 30 days)" "chorus-bot check --structure $SIRET"
    run "${BOT[@]}" check --structure "$SIRET"

    step "Reset the technical user's password; the new one goes to the keyring" "chorus-bot reset --structure $SIRET"
    run "${BOT[@]}" reset --structure "$SIRET"

    step "Read the expiry date again; also write it as a calendar and as metrics" \
        "chorus-bot check --structure $SIRET --ics $work/chorus-pro.ics --prometheus $work/chorus_bot.prom"
    run "${BOT[@]}" check --structure "$SIRET" \
        --ics "$work/chorus-pro.ics" --prometheus "$work/chorus_bot.prom"

    step "The calendar: one event on the expiry date, reminders 30 days and 1 day before" \
        "cat $work/chorus-pro.ics   # for Outlook, Thunderbird, or served by the intranet"
    tr -d '\r' <"$work/chorus-pro.ics"

    step "The metrics, for node_exporter's textfile collector and the alerts of contrib/" \
        "cat $work/chorus_bot.prom"
    cat "$work/chorus_bot.prom"
fi

step "Does the keyring hold exactly the password the portal generated? Ask the mock's API" \
    "chorus-bot verify --structure $SIRET --piste-api-url … --piste-oauth-url …"
printf '%s\n' 'demo-secret' | "${BOT[@]}" credentials set --piste --client-id demo-client --password-stdin >/dev/null
run "${BOT[@]}" verify --structure "$SIRET" --piste-api-url "${url%/}" --piste-oauth-url "${url}api/oauth/token"

step "What a connector reads (keyring service chorus-bot/technical/$SIRET)" \
    "python -c 'import keyring; keyring.get_credential(\"chorus-bot/technical/$SIRET\", None)'"
"$VPY" - "$SIRET" <<'PY'
import sys

import keyring

credential = keyring.get_credential(f"chorus-bot/technical/{sys.argv[1]}", None)
print(f"login = {credential.username}")
print(f"password = {'*' * len(credential.password)} ({len(credential.password)} characters, masked here)")
PY

step "The audit trail" "chorus-bot history"
"${BOT[@]}" history
