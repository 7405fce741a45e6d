"""Logging, configured once by the CLI: stderr and a log file, with every known secret masked."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from loguru import logger

MASK = "********"


class Redactor:
    """Every secret the run knows. Anything written anywhere passes through `redact`."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        # Very short strings would mask ordinary words; real secrets here are never that short.
        if secret and len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def known(self) -> list[str]:
        with self._lock:
            return sorted(self._secrets)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text


redactor = Redactor()


class _RedactingStream:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, message: str) -> None:
        self.stream.write(redactor.redact(message))
        self.stream.flush()


class _RedactingFile:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.file = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, message: str) -> None:
        self.file.write(redactor.redact(message))
        self.file.flush()


_STDERR_FORMAT = "<level>{level: <7}</level> {message}"
_FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS ZZ} {level: <7} {process} {message}"


def configure(*, verbose: bool, log_file: Path | None) -> None:
    """Call once, at the entry point."""
    logger.remove()
    # diagnose=False: a traceback never shows local variables, where secrets live.
    logger.add(
        _RedactingStream(sys.stderr).write,
        level="DEBUG" if verbose else "INFO",
        format=_STDERR_FORMAT,
        colorize=sys.stderr.isatty(),
        diagnose=False,
        backtrace=False,
    )
    if log_file is not None:
        logger.add(
            _RedactingFile(log_file).write,
            level="DEBUG",
            format=_FILE_FORMAT,
            colorize=False,
            diagnose=False,
            backtrace=False,
        )
