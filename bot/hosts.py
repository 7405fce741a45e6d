"""Credentials go only to the genuine portals: the DGFiP warns of fake ones."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from bot.errors import HostNotAllowed, PortalError
from bot.i18n import T

GENUINE_SUFFIXES = ("dgfip.finances.gouv.fr", "chorus-pro.gouv.fr")
PISTE_SUFFIXES = ("piste.gouv.fr",)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_genuine(host: str, suffixes: tuple[str, ...] = GENUINE_SUFFIXES) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def host_problem(
    url: str,
    allowed_hosts: Iterable[str] = (),
    genuine: tuple[str, ...] = GENUINE_SUFFIXES,
    genuine_name: str = "DGFiP or Chorus Pro",
) -> str | None:
    """Why credentials must not be sent to this URL, or None when they may."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return T("{url!r} is not a URL with a host", url=url)
    allowed = {h.lower().rstrip(".") for h in allowed_hosts}
    if parts.scheme == "https" and (_is_genuine(host, genuine) or host in allowed):
        return None
    if parts.scheme == "http" and _is_loopback(host):
        return None
    if parts.scheme == "http":
        return T("{host} is reached over plain http (only loopback test portals may be)", host=host)
    if parts.scheme != "https":
        return T("{url!r} is not an https URL", url=url)
    return T("{host} is not a genuine {name} host", host=host, name=genuine_name)


def check_portal_url(url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuses a --portal-url before anything starts."""
    problem = host_problem(url, allowed_hosts)
    if problem:
        raise HostNotAllowed(
            T("refusing portal URL: {problem}", problem=problem),
            hint=T("use the genuine portal, or name the host with --allow-host if you trust it"),
        )


def check_piste_url(url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuses a PISTE URL: the OAuth secret and the technical password are sent there."""
    problem = host_problem(url, allowed_hosts, PISTE_SUFFIXES, "PISTE")
    if problem:
        raise HostNotAllowed(
            T("refusing PISTE URL: {problem}", problem=problem),
            hint=T(
                "use the genuine PISTE hosts (--piste-env), "
                "or name the host with --allow-host if you trust it"
            ),
        )


def page_guard(allowed_hosts: Iterable[str] = ()):
    """Checks the page's URL again right before a credential is typed into it."""
    allowed = tuple(allowed_hosts)

    def guard(url: str) -> None:
        problem = host_problem(url, allowed)
        if problem:
            raise PortalError(
                T(
                    "the login page moved to an untrusted address ({problem}); nothing was typed",
                    problem=problem,
                ),
                hint=T("this may be a fake portal: check the portal URL and your network"),
            )

    return guard
