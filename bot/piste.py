"""Proves a technical login/password pair works: one cheap Chorus Pro API call through PISTE.

The technical account cannot log in to the portal; it only calls the API, with the OAuth2
client-credentials token of a PISTE application plus the `cpro-account` header. Chorus Pro
answers bad technical credentials with HTTP 200 and a non-zero `codeRetour`, so both are read.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from loguru import logger

from bot.config import Settings
from bot.errors import PisteClientRejected, PisteError, PisteUnavailable
from bot.hosts import check_piste_url
from bot.i18n import T
from bot.log import redactor

if TYPE_CHECKING:
    import httpx

    from bot.proxy import Proxy

# (OAuth token URL, API base URL) per PISTE environment.
HOSTS = {
    "production": ("https://oauth.piste.gouv.fr/api/oauth/token", "https://api.piste.gouv.fr"),
    "sandbox": (
        "https://sandbox-oauth.piste.gouv.fr/api/oauth/token",
        "https://sandbox-api.piste.gouv.fr",
    ),
}
RATTACHEMENTS_PATH = "/cpro/utilisateurs/v1/monCompte/recuperer/rattachements"
ONE_RESULT = {"parametresRecherche": {"nbResultatsParPage": 1, "pageResultatDemandee": 1}}
TRIES = 3
_CREDENTIALS_HINT = T(
    "check the client id and secret of the PISTE application on piste.gouv.fr, "
    "then run `chorus-bot credentials set --piste`"
)
_UNAVAILABLE_HINT = T(
    "PISTE may be down or unreachable from here: check the network, then run again"
)


@dataclass(frozen=True)
class Endpoints:
    oauth_url: str
    api_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoints:
        """The hosts of `piste_env`, overridden by the URL settings, checked by the host rule."""
        oauth_url, api_url = HOSTS[settings.piste_env]
        endpoints = cls(
            oauth_url=settings.piste_oauth_url or oauth_url,
            api_url=(settings.piste_api_url or api_url).rstrip("/"),
        )
        check_piste_url(endpoints.oauth_url, settings.allow_hosts)
        check_piste_url(endpoints.api_url, settings.allow_hosts)
        return endpoints


@dataclass(frozen=True)
class Verification:
    """What the API said of one technical login/password pair."""

    login: str
    accepted: bool
    reason: str
    http_status: int
    code_retour: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PisteClient:
    """One PISTE application. The token is fetched once and reused for the client's life.

    `wait` is how back-off pauses happen: tests pass a function that records instead of waiting.
    """

    def __init__(
        self,
        endpoints: Endpoints,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 30.0,
        tries: int = TRIES,
        backoff: float = 1.0,
        wait: Callable[[float], None] = time.sleep,
        proxy: Proxy | None = None,
        ca_file: str | None = None,
    ) -> None:
        redactor.add(client_secret)
        self.endpoints = endpoints
        self.client_id = client_id
        self._client_secret = client_secret
        self.tries = max(1, tries)
        self.backoff = backoff
        self.wait = wait
        # Imported here: commands that never call PISTE skip httpx's import (~0.15 s).
        import httpx

        from bot.proxy import tls_context

        verify = tls_context(ca_file)
        # No redirects: a token request or a password header must not wander to another host.
        # trust_env=False: the proxy is the one chorus-bot resolved (option, config, then the
        # environment), the same as the browser's, not httpx's own reading of the environment.
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            verify=verify,
            mounts=proxy.httpx_mounts(verify) if proxy is not None else None,
        )
        self._token: str | None = None

    def __repr__(self) -> str:
        return f"PisteClient(client_id={self.client_id!r}, endpoints={self.endpoints!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PisteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- HTTP with bounded retries --------------------------------------------------------

    def _post(self, what: str, url: str, **kwargs: Any) -> httpx.Response:
        """POST; 5xx and transport errors are retried with exponential back-off, 4xx never."""
        import httpx

        host = urlsplit(url).hostname
        last = ""
        for attempt in range(1, self.tries + 1):
            try:
                response = self._http.post(url, **kwargs)
            except httpx.TimeoutException as error:
                last = f"no answer from {host} in time ({type(error).__name__})"
            except httpx.TransportError as error:
                last = f"cannot reach {host} ({type(error).__name__})"
            else:
                if response.status_code < 500:
                    return response
                last = f"{host} answered HTTP {response.status_code}"
            if attempt < self.tries:
                delay = self.backoff * 2 ** (attempt - 1)
                logger.debug(
                    "PISTE {}: {} (try {}/{}); trying again in {:.2f} s",
                    what,
                    last,
                    attempt,
                    self.tries,
                    delay,
                )
                self.wait(delay)
        raise PisteUnavailable(
            T(
                "PISTE {what} failed {tries} times; last: {last}",
                what=what,
                tries=self.tries,
                last=last,
            ),
            step=T("verify"),
            hint=_UNAVAILABLE_HINT,
        )

    # --- the two calls --------------------------------------------------------------------

    def token(self) -> str:
        if self._token:
            return self._token
        response = self._post(
            "token request",
            self.endpoints.oauth_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "scope": "openid",
            },
            headers={"Accept": "application/json"},
        )
        body = _json_or_empty(response)
        oauth_error = body.get("error")
        if response.status_code == 401 or oauth_error in ("invalid_client", "unauthorized_client"):
            raise PisteClientRejected(
                T(
                    "PISTE refused the OAuth client id {client_id!r} or its secret (HTTP "
                    "{status_code}{value})",
                    client_id=self.client_id,
                    status_code=response.status_code,
                    value=" " + oauth_error if oauth_error else "",
                ),
                step=T("verify"),
                hint=_CREDENTIALS_HINT,
            )
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise PisteError(
                T(
                    "PISTE token request answered HTTP {status_code} without an access "
                    "token{value}",
                    status_code=response.status_code,
                    value=" (" + oauth_error + ")" if oauth_error else "",
                ),
                step=T("verify"),
                hint=T("check the --piste-oauth-url and the PISTE application"),
            )
        redactor.add(token)
        logger.debug("PISTE token obtained for client {}", self.client_id)
        self._token = token
        return token

    def verify(self, login: str, password: str) -> Verification:
        """Accepted only on HTTP 200 with codeRetour 0. Raises when no answer can be had."""
        account = base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
        redactor.add(password)
        redactor.add(account)
        url = self.endpoints.api_url + RATTACHEMENTS_PATH
        for renewed in (False, True):
            response = self._post(
                "API call",
                url,
                json=ONE_RESULT,
                headers={
                    "Authorization": f"Bearer {self.token()}",
                    "cpro-account": account,
                    "Accept": "application/json",
                },
            )
            expired = "invalid_token" in response.headers.get("WWW-Authenticate", "")
            if response.status_code == 401 and expired and not renewed:
                logger.debug("PISTE token refused by the API; getting a new one, once")
                self._token = None
                continue
            break
        body = _json_or_empty(response)
        code = body.get("codeRetour")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        if response.status_code == 200 and code == 0:
            return Verification(login, True, "accepted", 200, 0)
        if code is not None:
            label = body.get("libelle") or body.get("message") or ""
            reason = f"codeRetour {code}" + (f": {label}" if label else "")
            return Verification(login, False, redactor.redact(reason), response.status_code, code)
        raise PisteError(
            T(
                "the Chorus Pro API answered HTTP {status} without a codeRetour ({body})",
                status=response.status_code,
                body=_short(body),
            )
            if body
            else T(
                "the Chorus Pro API answered HTTP {status} without a codeRetour",
                status=response.status_code,
            ),
            step=T("verify"),
            hint=T(
                "check that the PISTE application is subscribed to the Chorus Pro API "
                "and that --piste-api-url is right"
            ),
        )


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _short(body: dict[str, Any]) -> str:
    for key in ("error_description", "moreInformation", "message", "httpMessage", "error"):
        if isinstance(body.get(key), str):
            return redactor.redact(body[key])[:120]
    return "no message"
