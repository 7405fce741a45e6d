"""Safety nets of `reset` (issue 3): pre-flight, schedule-safe resets, never losing a password,
one run per structure, genuine hosts only, and the audit trail."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import keyring
import pytest

from bot.errors import HostNotAllowed, PortalError
from bot.hosts import check_portal_url, host_problem, page_guard
from fixtures.mock_portal import Fault
from fixtures.mock_portal.pages import login_page
from tests.conftest import MANAGER_PASSWORD, PAGE3_SIRET, SIAGEP, portal_secrets
from tests.runs import (
    assert_diagnosis,
    error_line,
    finish_cli,
    history,
    no_run_folder,
    previous,
    record_drawn,
    start_cli,
    store_technical,
    technical,
)

# --- schedule-safe reset and pre-flight ----------------------------------------------------


def test_reset_waits_until_the_expiry_is_near_then_resets(cli, portal, real_keyring):
    record = portal.state.structure(SIAGEP)  # expires in 200 days
    old_expiry = record.expiry

    skipped = cli("reset", "--structure", SIAGEP)

    assert skipped.returncode == 0, skipped.output
    assert f"{old_expiry:%d/%m/%Y %H:%M:%S}" in skipped.stdout
    assert "more than 90 days" in skipped.stdout and "--force" in skipped.stdout
    assert record.reset_count == 0
    assert technical(SIAGEP) is None

    done = cli("reset", "--structure", SIAGEP, "--within-days", "250")

    assert done.returncode == 0, done.output
    assert record.reset_count == 1
    assert technical(SIAGEP) == (record.tech_login, record.tech_password)
    # The pre-flight probe cleans up after itself.
    assert keyring.get_credential("chorus-bot/probe", None) is None
    assert [(h["outcome"], h["exit_code"]) for h in history(cli.state_dir)] == [
        ("skipped", 0),
        ("reset", 0),
    ]
    cli.assert_no_secret(portal_secrets(portal))


# --- never lose the new password -----------------------------------------------------------


def test_expiry_not_moved_keeps_both_passwords(cli, portal, real_keyring):
    record = portal.state.structure(PAGE3_SIRET)
    old = (record.tech_login, record.tech_password)
    store_technical(PAGE3_SIRET, *old)
    portal.faults.add(Fault("expiry_not_moved", "reset"))

    result = cli("reset", "--structure", PAGE3_SIRET)

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert line.startswith("chorus-bot: error: expiry re-read: "), line
    assert "both passwords are kept" in line and "previous" in line
    assert record.reset_count == 1
    assert technical(PAGE3_SIRET) == (record.tech_login, record.tech_password)
    assert previous(PAGE3_SIRET) == old
    assert_diagnosis(result, step="expiry re-read", trace=True)
    last = history(cli.state_dir)[-1]
    assert (last["outcome"], last["exit_code"]) == ("reset-unconfirmed", 1)
    assert last["expiry_before"] == last["expiry_after"]
    cli.assert_no_secret([*portal_secrets(portal), old[1]])


# --- one run at a time per structure -------------------------------------------------------


def test_two_resets_of_one_structure_at_once_reset_it_once(cli, portal, real_keyring):
    record = portal.state.structure(PAGE3_SIRET)
    old = (record.tech_login, record.tech_password)
    store_technical(PAGE3_SIRET, *old)
    drawn = record_drawn(portal)
    # Whichever run takes the lock keeps it over a slow structure page, long after the other
    # one, started at the same moment, has tried to take it.
    portal.faults.add(Fault("slow", "structure", seconds=5, times=1))
    args = ("reset", "--structure", PAGE3_SIRET)

    processes = [start_cli(cli, *args), start_cli(cli, *args)]
    try:
        results = [finish_cli(cli, process, args) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    assert sorted(result.returncode for result in results) == [0, 1], [r.output for r in results]
    done, refused = sorted(results, key=lambda result: result.returncode)
    line = error_line(refused)
    assert "another chorus-bot run is resetting structure" in line and "wait" in line, line
    assert "nothing was changed" in line
    assert "diagnosis saved" not in refused.stderr
    assert "New password stored in the keyring" in done.stdout
    assert record.reset_count == 1
    assert portal.state.successful_logins == 1  # the refused run never reached the portal
    assert technical(PAGE3_SIRET) == (record.tech_login, record.tech_password)
    assert previous(PAGE3_SIRET) == old
    outcomes = sorted((h["outcome"], h["exit_code"]) for h in history(cli.state_dir))
    assert outcomes == [("failed", 1), ("reset", 0)]
    cli.assert_no_secret([*portal_secrets(portal), *drawn, old[1]])


# --- only genuine hosts --------------------------------------------------------------------

REFUSED = [
    "https://portail.dgfip.finances.gouv.fr.example.com/",
    "https://faux-dgfip-finances.gouv.fr/",
    "http://portail.dgfip.finances.gouv.fr/",
    "ftp://portail.dgfip.finances.gouv.fr/",
    "https://chorus-pro.gouv.fr.evil.test/",
    "http://192.0.2.10/",
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED)
def test_other_portal_urls_are_refused_before_any_browser(cli, portal, url):
    result = cli("check", "--structure", SIAGEP, "--portal-url", url)

    assert result.returncode == 2, result.output
    line = error_line(result)
    assert "refusing portal URL" in line and "--allow-host" in line
    assert no_run_folder(cli.state_dir)
    assert portal.state.requests == []
    cli.assert_no_secret([MANAGER_PASSWORD])


@pytest.mark.parametrize(
    "url",
    [
        "https://portail.dgfip.finances.gouv.fr/portail/accueilIAM.pl",
        "https://DGFIP.finances.gouv.fr./",
        "https://portail.chorus-pro.gouv.fr/",
        "https://chorus-pro.gouv.fr/",
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://[::1]:8000/",
    ],
)
def test_genuine_hosts_and_loopback_are_accepted(url):
    assert host_problem(url) is None
    check_portal_url(url)


def test_allow_host_trusts_that_https_host_only():
    assert host_problem("https://chorus.qualif.example/", ["chorus.qualif.example"]) is None
    assert "not a genuine" in host_problem("https://chorus.qualif.example/")
    # Allowed names do not open plain http, nor other hosts under them.
    assert "plain http" in host_problem("http://chorus.qualif.example/", ["chorus.qualif.example"])
    assert host_problem("https://x.chorus.qualif.example/", ["chorus.qualif.example"])
    with pytest.raises(HostNotAllowed):
        check_portal_url("https://chorus.qualif.example/")


def test_allow_host_from_the_config_file_reaches_the_rule(cli, portal):
    cli.config_file.write_text('allow_hosts = ["chorus.qualif.example"]\n', encoding="utf-8")

    shown = cli("config", "show")

    assert "chorus.qualif.example" in shown.stdout


def test_page_guard_refuses_a_page_that_moved_to_another_host():
    guard = page_guard(["chorus.qualif.example"])
    guard("https://portail.dgfip.finances.gouv.fr/portail/accueilIAM.pl")
    guard("https://chorus.qualif.example/login")
    with pytest.raises(PortalError, match=r"untrusted address.*nothing was typed"):
        guard("https://portail-dgfip.example.net/portail/accueilIAM.pl")
    with pytest.raises(PortalError):
        guard("http://portail.dgfip.finances.gouv.fr/")


def _non_loopback_address() -> str | None:
    """This machine's address on its network: plain http to it is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


class _FakePortal(BaseHTTPRequestHandler):
    """Loopback start page that redirects to a look-alike login page on another host."""

    requests: list[tuple[str, str, str]]
    other: str

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        host = self.headers.get("Host", "")
        self.requests.append((self.command, host, self.path))
        if host.startswith("127.0.0.1"):
            self.send_response(302)
            self.send_header("Location", f"http://{self.other}/portail/accueilIAM.pl")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = login_page().encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer


@pytest.fixture
def redirecting_portal() -> Iterator[tuple[str, list]]:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback address to redirect to")
    server = ThreadingHTTPServer(("0.0.0.0", 0), _FakePortal)
    port = server.server_address[1]
    seen: list[tuple[str, str, str]] = []
    handler = type("Handler", (_FakePortal,), {"requests": seen, "other": f"{address}:{port}"})
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/", seen
    server.shutdown()
    server.server_close()


def test_redirect_to_another_host_aborts_before_typing(cli, redirecting_portal):
    start, seen = redirecting_portal

    result = cli("check", "--structure", SIAGEP, "--portal-url", start, "--timeout", "5")

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert line.startswith("chorus-bot: error: login: "), line
    assert "untrusted address" in line and "nothing was typed" in line
    assert any(host.startswith("127.0.0.1") for _, host, _ in seen)
    assert any(not host.startswith("127.0.0.1") for _, host, _ in seen)  # it did redirect
    assert [request for request in seen if request[0] == "POST"] == []
    assert_diagnosis(result, step="login", trace=False, url_prefix="http://")
    cli.assert_no_secret([MANAGER_PASSWORD])


# --- audit trail ---------------------------------------------------------------------------


def test_history_lists_every_run_without_secrets(cli, portal, real_keyring):
    assert cli("reset", "--structure", PAGE3_SIRET).returncode == 0
    assert cli("check", "--structure", "12345678901234").returncode == 2  # before any record
    assert cli("check", "--structure", SIAGEP, CHORUS_BOT_PASSWORD="wrong-password").returncode == 1

    listed = cli("history", "--json")
    text = cli("history")

    assert listed.returncode == 0 and text.returncode == 0
    records = json.loads(listed.stdout)
    record = portal.state.structure(PAGE3_SIRET)
    reset, failed = records
    assert reset["action"] == "reset" and reset["structure"] == PAGE3_SIRET
    assert reset["technical_login"] == record.tech_login
    assert (reset["outcome"], reset["exit_code"]) == ("reset", 0)
    assert reset["expiry_before"] < reset["expiry_after"]
    assert reset["time"]
    assert (failed["action"], failed["outcome"], failed["exit_code"]) == ("check", "failed", 1)
    assert "refused" in failed["detail"]
    lines = text.stdout.splitlines()
    assert len(lines) == 2
    assert PAGE3_SIRET in lines[0] and "exit 0" in lines[0]
    assert SIAGEP in lines[1] and "exit 1" in lines[1]
    cli.assert_no_secret([*portal_secrets(portal), "wrong-password"])
