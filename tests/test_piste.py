"""bot/piste.py against the real mock server (in-process, real HTTP): no HTTP mocking."""

from __future__ import annotations

import socket

import pytest

from bot.config import build_settings
from bot.errors import HostNotAllowed, PisteClientRejected, PisteError, PisteUnavailable
from bot.hosts import check_piste_url, check_portal_url
from bot.log import redactor
from bot.piste import RATTACHEMENTS_PATH, Endpoints, PisteClient
from fixtures.mock_portal import Fault, MockPortal
from fixtures.mock_portal.piste import TOKEN_PATH
from tests.conftest import SIAGEP


class Waits(list):
    """Records the back-off pauses instead of waiting them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(portal: MockPortal, secret: str = "demo-secret", **kwargs) -> PisteClient:
    endpoints = Endpoints(oauth_url=portal.piste_oauth_url, api_url=portal.piste_api_url)
    kwargs.setdefault("wait", Waits())
    return PisteClient(endpoints, "demo-client", secret, timeout=5, **kwargs)


def calls(portal: MockPortal, path: str) -> int:
    return sum(1 for _, p in portal.state.requests if p == path)


def test_accepts_the_current_password_and_rejects_another(portal):
    rec = portal.state.structure(SIAGEP)
    with make_client(portal) as piste:
        good = piste.verify(rec.tech_login, rec.tech_password)
        bad = piste.verify(rec.tech_login, rec.tech_password + "x")
    assert good.accepted and good.http_status == 200 and good.code_retour == 0
    # Same HTTP status: only codeRetour tells them apart.
    assert not bad.accepted and bad.http_status == 200 and bad.code_retour == 20001
    assert "mot de passe est incorrect" in bad.reason
    assert calls(portal, TOKEN_PATH) == 1  # the token is reused


def test_follows_a_reset(portal):
    rec = portal.state.structure(SIAGEP)
    old = rec.tech_password
    portal.state.reset_password(rec)
    with make_client(portal) as piste:
        assert not piste.verify(rec.tech_login, old).accepted
        assert piste.verify(rec.tech_login, rec.tech_password).accepted


def test_bad_client_secret_is_not_retried(portal):
    waits = Waits()
    piste = make_client(portal, secret="wrong-secret", wait=waits)
    with piste, pytest.raises(PisteClientRejected) as caught:
        piste.verify("TECH_x@cpro.fr", "whatever")
    assert "credentials set --piste" in caught.value.one_line()
    assert caught.value.exit_code == 1
    assert calls(portal, TOKEN_PATH) == 1 and waits == []
    assert calls(portal, RATTACHEMENTS_PATH) == 0


def test_5xx_is_retried_three_times_with_growing_waits(portal):
    rec = portal.state.structure(SIAGEP)
    portal.faults.add(Fault(kind="piste_5xx", step="piste_api"))
    waits = Waits()
    piste = make_client(portal, backoff=0.5, wait=waits)
    with piste, pytest.raises(PisteUnavailable) as caught:
        piste.verify(rec.tech_login, rec.tech_password)
    assert calls(portal, RATTACHEMENTS_PATH) == 3
    assert waits == [0.5, 1.0]
    assert "HTTP 503" in caught.value.one_line() and caught.value.exit_code == 1


def test_a_passing_5xx_is_overcome(portal):
    rec = portal.state.structure(SIAGEP)
    portal.faults.add(Fault(kind="piste_5xx", step="piste_token", times=2))
    with make_client(portal) as piste:
        assert piste.verify(rec.tech_login, rec.tech_password).accepted
    assert calls(portal, TOKEN_PATH) == 3


def test_an_unreachable_host_is_retried_then_reported():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    waits = Waits()
    piste = PisteClient(
        Endpoints(base + TOKEN_PATH, base), "demo-client", "demo-secret", timeout=2, wait=waits
    )
    with piste, pytest.raises(PisteUnavailable) as caught:
        piste.token()
    assert "cannot reach 127.0.0.1" in caught.value.one_line()
    assert len(waits) == 2


def test_a_revoked_token_is_renewed_once(portal):
    rec = portal.state.structure(SIAGEP)
    with make_client(portal) as piste:
        piste.token()
        portal.faults.add(Fault(kind="session_expired", step="piste_api", times=1))
        assert piste.verify(rec.tech_login, rec.tech_password).accepted
    assert calls(portal, TOKEN_PATH) == 2


def test_an_answer_without_code_retour_is_an_error_not_a_rejection(portal):
    with make_client(portal) as piste:
        piste._token = "not-a-token-the-mock-issued"
        portal.faults.add(Fault(kind="session_expired", step="piste_api"))
        with pytest.raises(PisteError) as caught:
            piste.verify("TECH_x@cpro.fr", "whatever")
    assert "without a codeRetour" in caught.value.one_line()


def test_secrets_are_registered_for_redaction(portal):
    rec = portal.state.structure(SIAGEP)
    with make_client(portal) as piste:
        piste.verify(rec.tech_login, rec.tech_password)
        token = piste.token()
    known = redactor.known()
    assert {"demo-secret", token, rec.tech_password} <= set(known)
    assert all(secret not in repr(piste) for secret in ("demo-secret", token))


def test_hosts_per_environment_and_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(tmp_path / "none.toml"))
    production = Endpoints.from_settings(build_settings())
    assert production == Endpoints(
        "https://oauth.piste.gouv.fr/api/oauth/token", "https://api.piste.gouv.fr"
    )
    sandbox = Endpoints.from_settings(build_settings(piste_env="sandbox"))
    assert sandbox.api_url == "https://sandbox-api.piste.gouv.fr"
    assert sandbox.oauth_url == "https://sandbox-oauth.piste.gouv.fr/api/oauth/token"
    mock = Endpoints.from_settings(
        build_settings(piste_api_url="http://127.0.0.1:9/", piste_oauth_url="http://[::1]:9/t")
    )
    assert mock == Endpoints("http://[::1]:9/t", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.piste.gouv.fr",  # genuine host, plain http
        "https://api.piste.gouv.fr.evil.example",
        "https://portail.dgfip.finances.gouv.fr",  # genuine for the portal, not for PISTE
        "ftp://127.0.0.1/",
    ],
)
def test_piste_host_rule_refuses(url):
    with pytest.raises(HostNotAllowed) as caught:
        check_piste_url(url)
    assert caught.value.exit_code == 2


def test_piste_host_rule_accepts_genuine_loopback_and_allowed_hosts():
    check_piste_url("https://sandbox-api.piste.gouv.fr")
    check_piste_url("http://localhost:8000/api/oauth/token")
    check_piste_url("https://piste.example.org", allowed_hosts=["piste.example.org"])
    with pytest.raises(HostNotAllowed):
        check_portal_url("https://api.piste.gouv.fr")  # the portal rule is unchanged
