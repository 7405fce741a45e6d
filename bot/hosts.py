"""Credentials go only to the genuine portals: the DGFiP warns of fake ones."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from bot.errors import HostNotAllowed, PortalError

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
        return f"{url!r} is not a URL with a host"
    allowed = {h.lower().rstrip(".") for h in allowed_hosts}
    if parts.scheme == "https" and (_is_genuine(host, genuine) or host in allowed):
        return None
    if parts.scheme == "http" and _is_loopback(host):
        return None
    if parts.scheme == "http":
        return f"{host} is reached over plain http (only loopback test portals may be)"
    if parts.scheme != "https":
        return f"{url!r} is not an https URL"
    return f"{host} is not a genuine {genuine_name} host"


def check_portal_url(url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuses a --portal-url before anything starts."""
    problem = host_problem(url, allowed_hosts)
    if problem:
        raise HostNotAllowed(
            f"refusing portal URL: {problem}",
            hint="use the genuine portal, or name the host with --allow-host if you trust it",
        )


def check_piste_url(url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuses a PISTE URL: the OAuth secret and the technical password are sent there."""
    problem = host_problem(url, allowed_hosts, PISTE_SUFFIXES, "PISTE")
    if problem:
        raise HostNotAllowed(
            f"refusing PISTE URL: {problem}",
            hint="use the genuine PISTE hosts (--piste-env), "
            "or name the host with --allow-host if you trust it",
        )


def page_guard(allowed_hosts: Iterable[str] = ()):
    """Checks the page's URL again right before a credential is typed into it."""
    allowed = tuple(allowed_hosts)

    def guard(url: str) -> None:
        problem = host_problem(url, allowed)
        if problem:
            raise PortalError(
                f"the login page moved to an untrusted address ({problem}); nothing was typed",
                hint="this may be a fake portal: check the portal URL and your network",
            )

    return guard
