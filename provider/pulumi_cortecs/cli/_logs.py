"""What the client and httpx log, as lines on stderr while a command runs.

The client retries quietly; it logs each retry at INFO on ``pulumi_cortecs.api`` as
``"Attempt %d failed (%s); retrying in %.1f s"``. That becomes ``retrying (2/5): <reason>;
next attempt in 0.5 s``, so an unreachable API is not several silent seconds. The client's
warnings are shown too. ``--verbose`` adds every other INFO line of the client and httpx's
line for each request (``HTTP Request: GET https://… "HTTP/1.1 200 OK"``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

CLIENT_LOGGER = "pulumi_cortecs.api"
HTTP_LOGGER = "httpx"
RETRY_MESSAGE = "Attempt %d failed (%s); retrying in %.1f s"
"""The client's format for a retry (matched as the format, never as formatted text)."""


class _Lines(logging.Handler):
    def __init__(self, stream: TextIO, prog: str, max_attempts: int, verbose: bool) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream
        self.prog = prog
        self.max_attempts = max_attempts
        self.verbose = verbose
        self._write_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self._line(record)
            if line is not None:
                with self._write_lock:
                    self.stream.write(f"{self.prog}: {line}\n")
                    self.stream.flush()
        except Exception:  # a broken stderr must not break the command
            self.handleError(record)

    def _line(self, record: logging.LogRecord) -> str | None:
        if record.name == CLIENT_LOGGER:
            retry = _retry(record)
            if retry is not None:
                attempt, reason, delay = retry
                return (
                    f"retrying ({attempt + 1}/{self.max_attempts}): {reason}; "
                    f"next attempt in {delay:.1f} s"
                )
            if record.levelno >= logging.WARNING:
                return f"warning: {record.getMessage()}"
        return record.getMessage() if self.verbose else None


def _retry(record: logging.LogRecord) -> tuple[int, str, float] | None:
    args = record.args
    if record.msg != RETRY_MESSAGE or not isinstance(args, tuple) or len(args) != 3:
        return None
    attempt, reason, delay = args
    if not isinstance(attempt, int) or not isinstance(delay, int | float):
        return None
    return attempt, str(reason), float(delay)


@contextmanager
def reporting(stream: TextIO, *, prog: str, max_attempts: int, verbose: bool) -> Iterator[None]:
    """Show retries (and with ``verbose`` every request) on ``stream`` inside the block."""
    handler = _Lines(stream, prog, max_attempts, verbose)
    loggers = [logging.getLogger(CLIENT_LOGGER)]
    if verbose:
        loggers.append(logging.getLogger(HTTP_LOGGER))
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
