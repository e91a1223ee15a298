"""What a running command works with: the client, the time, the terminal and the user."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from pulumi_cortecs import Client
from pulumi_cortecs.cli._tables import Layout

MAX_ATTEMPTS = 5
"""Tries per API call (the client's default)."""


@dataclass(frozen=True)
class ClientSettings:
    """What the CLI asks of the client it builds: the API (``None``: the client's default or
    ``CORTECS_API_BASE_URL``) and how many tries each call gets."""

    api_base_url: str | None
    max_attempts: int = MAX_ATTEMPTS


ClientFactory = Callable[[ClientSettings], Client]


def default_client(settings: ClientSettings) -> Client:
    return Client(api_base_url=settings.api_base_url, max_attempts=settings.max_attempts)


@dataclass
class Context:
    """A command's view of the world.

    ``now`` is the wall-clock moment ages are counted to; ``clock`` measures how long a watch
    has lasted (the client's own clock in tests). Progress and questions go to ``stderr``, so
    that ``stdout`` carries only the result (a table, or JSON).
    """

    client: Client
    now: Callable[[], datetime]
    clock: Callable[[], float]
    stdin: TextIO
    stderr: TextIO
    layout: Layout
    assume_yes: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def say(self, line: str) -> None:
        """One progress line on stderr (whole, even when several threads speak)."""
        with self._lock:
            self.stderr.write(line + "\n")
            self.stderr.flush()

    def confirm(self, text: str, question: str) -> bool:
        """Show ``text``, ask ``question`` and read yes or no (no unless the user says yes).

        Only asked on an interactive stdin: ``main`` refuses a command that confirms when
        stdin is not a terminal and ``--yes`` was not given.
        """
        if self.assume_yes:
            return True
        with self._lock:
            self.stderr.write(f"{text}{question} [y/N] ")
            self.stderr.flush()
            answer = self.stdin.readline()
            if not answer.endswith("\n"):
                self.stderr.write("\n")  # end of input: finish the prompt's line
        return answer.strip().lower() in {"y", "yes"}
