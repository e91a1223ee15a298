"""``python -m pulumi_cortecs``: the catalog (models, hardware) and your instances, as tables or
JSON.

``main`` parses the command line, runs the declared command (see ``_commands``) and turns its
failures into an exit code and one message on stderr that never shows a secret.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TextIO

from pulumi_cortecs.api._client import Client
from pulumi_cortecs.cli import _commands
from pulumi_cortecs.cli._errors import (
    EXIT_API_ERROR,
    EXIT_CREDENTIALS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Situation,
    failure,
)
from pulumi_cortecs.cli._parser import PROG, UsageExit, build_parser

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_CREDENTIALS",
    "EXIT_OK",
    "EXIT_USAGE",
    "ClientFactory",
    "main",
]

ClientFactory = Callable[[str | None], Client]


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    now: Callable[[], datetime] | None = None,
) -> int:
    """Run the CLI and return its exit code (see ``--help``); never raises for API errors.

    ``client_factory(api_base_url)`` builds the client (default: :class:`Client` with the
    credentials of the environment); tests pass one with instant retries. ``now`` gives the
    moment instance ages are counted to (default: the current UTC time).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except UsageExit as exc:
        return exc.status
    command = _commands.BY_NAME[args.command]
    factory = client_factory or _default_client
    try:
        with factory(getattr(args, "api_base_url", None)) as client:
            context = _commands.Context(client=client, now=now or _utc_now)
            rows = command.rows(context, args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        situation = Situation(command.name, _commands.without_credentials())
        found = failure(exc, situation)
        if found is None:
            raise
        err.write(f"{PROG}: error: {found.message}\n")
        return found.exit_code
    if getattr(args, "json", False):
        text = json.dumps({command.json_key: [row.to_json() for row in rows]}, indent=2) + "\n"
    else:
        text = command.render(rows)
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        # Piped into `head` or similar, which stopped reading: not an error.
        pass
    return EXIT_OK


def _default_client(api_base_url: str | None) -> Client:
    return Client(api_base_url=api_base_url)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)
