"""The test servers' ports (tests/ports.py): a port taken between the probe and the server's
bind costs one more attempt, not a failed test."""

from __future__ import annotations

import socket

import pytest

from tests import ports


def test_a_port_taken_meanwhile_is_tried_again_on_another(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        offered = [busy, ports.free_port()]
        tried: list[int] = []

        def offer() -> int:
            tried.append(offered.pop(0))
            return tried[-1]

        monkeypatch.setattr(ports, "free_port", offer)
        controller = ports.smtp_on_a_free_port(object())
        try:
            assert tried[0] == busy and controller.port == tried[1] != busy
            socket.create_connection(("127.0.0.1", controller.port), timeout=5).close()
        finally:
            controller.stop()


def test_a_server_that_never_starts_fails_after_a_few_attempts():
    tried: list[int] = []

    def never(port: int) -> None:
        tried.append(port)
        return None

    with pytest.raises(OSError, match="no server started"):
        ports.start_on_a_free_port(never)
    assert len(tried) == ports.ATTEMPTS
