"""Ports for the test servers (SMTP, IMAP, proxy) that must be told theirs before they start.

The kernel hands out a free port for a probe socket, which is closed again before the server
binds it; in that gap another process (an xdist worker's server, any outgoing connection) can
take it. So a server start that fails is tried again on a new port, a few times.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

Started = TypeVar("Started")
ATTEMPTS = 3


def free_port() -> int:
    """A port nothing listened on a moment ago (the kernel gave it and it was closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_on_a_free_port(start: Callable[[int], Started | None]) -> Started:
    """`start(port)` on new ports until it returns something: it returns None (or raises
    OSError) when the port was taken meanwhile. The last attempt's error goes through."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            started = start(free_port())
        except OSError:
            if attempt == ATTEMPTS:
                raise
            continue
        if started is not None:
            return started
    raise OSError(f"no server started on a free port in {ATTEMPTS} attempts")


def smtp_on_a_free_port(handler: object, hostname: str = "127.0.0.1", **options: Any) -> Controller:
    """A started aiosmtpd server for `handler`; its port is `.port`."""

    def on(port: int) -> Controller:
        controller = Controller(handler, hostname=hostname, port=port, **options)
        controller.start()  # raises OSError when the port was taken meanwhile
        return controller

    return start_on_a_free_port(on)
