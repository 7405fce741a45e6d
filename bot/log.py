"""Logging, configured once by the CLI: stderr and a log file, with every known secret masked."""

from __future__ import annotations

import html
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import TextIO
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from loguru import logger

MASK = "********"


def encoded_forms(secret: str) -> set[str]:
    """The secret as text written by HTML, URL or JSON encoders holds it."""
    return {
        secret,
        html.escape(secret, quote=True),
        html.escape(secret, quote=False),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


def _json_unescape(text: str) -> str:
    return re.sub(
        r"\\(u[0-9a-fA-F]{4}|[\"\\/])",
        lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" else m.group(1),
        text,
    )


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
        """For the bot's own lines (logs, messages): every known secret, raw or encoded."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            for form in sorted(encoded_forms(secret), key=len, reverse=True):
                text = text.replace(form, MASK)
        return text

    def found_in(self, text: str) -> bool:
        """Whether a known secret is in `text`, raw or decoded from HTML, URL or JSON escapes.

        A last check before an artefact is written; artefacts are redacted at their source.
        """
        secrets = self.known()
        if not secrets:
            return False
        views = {text, html.unescape(text), unquote(text), unquote_plus(text), _json_unescape(text)}
        return any(secret in view for secret in secrets for view in views)


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
