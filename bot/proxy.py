"""The HTTP proxy, for the browser and for the PISTE client alike.

Its password comes from the keyring (`chorus-bot/proxy`, username = proxy user) or from the
environment variable that named the proxy; it reaches Chromium through Playwright's protocol,
never its command line, and httpx through an auth header, never a URL that could be logged.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot import secret_store
from bot.config import Settings
from bot.errors import CredentialsMissing
from bot.i18n import T
from bot.log import redactor

if TYPE_CHECKING:
    import httpx

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


@dataclass(frozen=True)
class Proxy:
    server: str  # scheme://host:port
    no_proxy: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def bypasses_everything(self) -> bool:
        return "*" in self.no_proxy

    def playwright(self) -> dict[str, str] | None:
        """`proxy=` for Playwright's launch."""
        if self.bypasses_everything:
            return None
        proxy = {"server": self.server, "bypass": chromium_bypass(self.no_proxy)}
        if self.username:
            proxy["username"] = self.username
            proxy["password"] = self.password or ""
        return proxy

    def httpx_mounts(self, verify: Any = True) -> dict[str, httpx.BaseTransport | None]:
        """httpx `mounts=`: through the proxy, except the NO_PROXY hosts. `verify` as the
        client's: the TLS to the API goes through the proxy's tunnel."""
        import httpx

        if self.bypasses_everything:
            return {}
        auth = (self.username, self.password or "") if self.username else None
        mounts: dict[str, httpx.BaseTransport | None] = {}
        for host in self.no_proxy:
            # None: the client's own direct transport, with its TLS settings.
            mounts[_httpx_pattern(host)] = None
        context = verify if isinstance(verify, ssl.SSLContext) else None
        mounts["all://"] = httpx.HTTPTransport(
            verify=verify, proxy=httpx.Proxy(self.server, auth=auth, ssl_context=context)
        )
        return mounts


def resolve(settings: Settings) -> Proxy | None:
    """The proxy to use, with its password, or None. Reads the keyring only when there is one."""
    configured = settings.proxy
    if configured is None:
        return None
    username, password = configured.username, configured.env_password
    if password is None:
        stored = secret_store.get_proxy_password(username)
        if stored is not None:
            username, password = stored.login, stored.password
        elif username is not None:
            raise CredentialsMissing(
                T("no password is stored for the proxy user {username!r}", username=username),
                hint=T("run `chorus-bot credentials set --proxy`"),
            )
    redactor.add(password)
    return Proxy(configured.server, settings.no_proxy, username, password)


def chromium_bypass(no_proxy: tuple[str, ...]) -> str:
    """NO_PROXY as curl reads it (a name covers its subdomains) in Chromium's bypass syntax.

    Chromium sends loopback hosts direct whatever the proxy: `<-loopback>` undoes that, so
    that a local portal goes through the proxy too, unless NO_PROXY names loopback.
    """
    rules: list[str] = []
    for raw in no_proxy:
        host = raw.strip().lstrip(".").lower()
        if not host:
            continue
        if _is_address(host) or "/" in host:
            rules.append(host)
        else:
            rules += [host, f"*.{host}"]
    if not any(host in _LOOPBACK_NAMES for host in rules):
        rules.append("<-loopback>")
    return ",".join(rules)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _httpx_pattern(raw: str) -> str:
    host = raw.strip().lstrip(".").lower()
    if _is_address(host):
        address = host.strip("[]")
        return f"all://[{address}]" if ":" in address else f"all://{address}"
    # `*name` matches the name and its subdomains in httpx, as NO_PROXY means it.
    return f"all://*{host}"


def describe(proxy: Proxy | None) -> dict[str, Any]:
    """For logs: where, as whom; never the password."""
    if proxy is None:
        return {"proxy": None}
    return {"proxy": proxy.server, "user": proxy.username, "no_proxy": list(proxy.no_proxy)}


def tls_context(ca_file: str | None) -> ssl.SSLContext | bool:
    """httpx `verify=`: the usual CAs, plus a TLS-inspecting proxy's CA when one is given."""
    if not ca_file:
        return True
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    try:
        context.load_verify_locations(cafile=os.path.expanduser(ca_file))
    except (OSError, ssl.SSLError) as error:
        from bot.errors import ConfigError

        raise ConfigError(
            T(
                "ca_file {ca_file!r} cannot be read as PEM certificates ({name__})",
                ca_file=ca_file,
                name__=type(error).__name__,
            ),
            hint=T("give the PEM file of the proxy's certificate authority"),
        ) from None
    return context
