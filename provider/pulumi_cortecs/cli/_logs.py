"""What the client and httpx say while a command runs, as lines on stderr.

The client retries quietly; the CLI hooks into its retries (``Client.event_hooks``) and shows
each as ``retrying (2/5): <reason>; next attempt in 0.5 s``, so an unreachable API is not
several silent seconds. The client's warnings are shown too. ``--verbose`` adds every other
INFO line of the client and httpx's line for each request (``HTTP Request: GET https://…
"HTTP/1.1 200 OK"``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from pulumi_cortecs.api import RetryEvent

CLIENT_LOGGER = "pulumi_cortecs.api"
HTTP_LOGGER = "httpx"


class Lines(logging.Handler):
    """Writes a command's progress lines, each prefixed with the program's name."""

    def __init__(self, stream: TextIO, prog: str, verbose: bool) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream
        self.prog = prog
        self.verbose = verbose
        self._write_lock = threading.Lock()

    def retried(self, event: RetryEvent) -> None:
        """The client's ``retry`` event hook."""
        self._write(
            f"retrying ({event.attempt + 1}/{event.max_attempts}): {event.reason}; "
            f"next attempt in {event.delay:.1f} s"
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self._line(record)
            if line is not None:
                self._write(line)
        except Exception:  # a broken stderr must not break the command
            self.handleError(record)

    def _write(self, line: str) -> None:
        with self._write_lock:
            self.stream.write(f"{self.prog}: {line}\n")
            self.stream.flush()

    def _line(self, record: logging.LogRecord) -> str | None:
        if isinstance(getattr(record, "retry_event", None), RetryEvent):
            return None  # shown by retried(), from the hook
        if record.name == CLIENT_LOGGER and record.levelno >= logging.WARNING:
            return f"warning: {record.getMessage()}"
        return record.getMessage() if self.verbose else None


@contextmanager
def reporting(stream: TextIO, *, prog: str, verbose: bool) -> Iterator[Lines]:
    """Show the client's warnings (and with ``verbose`` every request) on ``stream`` inside the
    block; hook the client's retries to the handler it yields (``retried``)."""
    handler = Lines(stream, prog, verbose)
    loggers = [logging.getLogger(CLIENT_LOGGER)]
    if verbose:
        loggers.append(logging.getLogger(HTTP_LOGGER))
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
