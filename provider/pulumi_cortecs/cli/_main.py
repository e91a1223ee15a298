"""``python -m pulumi_cortecs``: the catalog (models, hardware) and your instances, as tables or
JSON; stop and delete instances.

``main`` parses the command line, runs the declared command (see ``_commands``) and turns its
failures into an exit code and a message (and maybe a hint) on stderr that never shows a
secret. The result goes to stdout; progress, retries, questions and errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

from pulumi_cortecs import Client
from pulumi_cortecs._schema import CLIENT_SECRET
from pulumi_cortecs.cli import _commands, _logs
from pulumi_cortecs.cli._commands import Command
from pulumi_cortecs.cli._context import (
    MAX_ATTEMPTS,
    ClientFactory,
    ClientSettings,
    Context,
    default_client,
)
from pulumi_cortecs.cli._errors import (
    EXIT_API_ERROR,
    EXIT_CREDENTIALS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailure,
    Situation,
    Unfinished,
    UnusableCredentials,
    UsageError,
    failure,
)
from pulumi_cortecs.cli._parser import UsageExit, api_base_url, invoked_as, parse
from pulumi_cortecs.cli._tables import Layout

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_CREDENTIALS",
    "EXIT_OK",
    "EXIT_USAGE",
    "ClientFactory",
    "ClientSettings",
    "main",
]


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    now: Callable[[], datetime] | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    """Run the CLI and return its exit code (see ``--help``); never raises for API errors.

    ``client_factory(settings)`` builds the client (default: :class:`Client` with the
    credentials of the environment); tests pass one with a fake clock and sleep. ``now`` gives
    the moment instance ages are counted to (default: the current UTC time); ``clock`` times
    a ``--watch`` (default: ``time.monotonic``).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    inp = stdin or sys.stdin
    prog = invoked_as(sys.argv[0])
    try:
        args = parse(argv, prog)
    except UsageExit as exc:
        return exc.status
    command: Command[Any] = _commands.BY_NAME[args.command]
    situation = Situation(command.name, _commands.without_credentials(), "", "the default")
    layout = Layout(width=_width(out), wide=getattr(args, "wide", False))
    verbose = getattr(args, "verbose", False)
    try:
        with _logs.reporting(err, prog=prog, verbose=verbose) as lines:
            url, source = api_base_url(args, os.environ)
            _check_confirmation(command, args, inp)
            settings = ClientSettings(api_base_url=url, max_attempts=MAX_ATTEMPTS)
            with (client_factory or default_client)(settings) as client:
                client.event_hooks["retry"].append(lines.retried)
                situation = Situation(
                    command.name, _commands.without_credentials(), client.api_base_url, source
                )
                context = Context(
                    client=client,
                    now=now or _utc_now,
                    clock=clock or time.monotonic,
                    stdin=inp,
                    stderr=err,
                    layout=layout,
                    assume_yes=getattr(args, "yes", False),
                )
                if command.needs_credentials:
                    _check_credentials(client)  # before doing anything else
                rows = command.rows(context, args)
    except KeyboardInterrupt:
        err.write("\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        found = failure(exc, situation)
        if found is None:
            raise
        if isinstance(exc, Unfinished) and exc.rows:
            # What was done is reported as on success: a cron parsing --json loses none of it.
            _show(out, command, args, exc.rows, layout)
        _report(err, prog, found)
        return found.exit_code
    _show(out, command, args, rows, layout)
    return command.exit_status(rows)


def _show(
    out: TextIO,
    command: Command[Any],
    args: argparse.Namespace,
    rows: Sequence[Any],
    layout: Layout,
) -> None:
    """The rows on stdout: as JSON with ``--json``, else the command's table."""
    if getattr(args, "json", False):
        text = json.dumps({command.json_key: [row.to_json() for row in rows]}, indent=2) + "\n"
    else:
        text = command.render(rows, layout)
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        # Piped into `head` or similar, which stopped reading: not an error.
        pass


def _check_confirmation(command: Command[Any], args: argparse.Namespace, stdin: TextIO) -> None:
    if command.confirms and not args.yes and not _interactive(stdin):
        raise UsageError(
            f"`{command.name}` asks for confirmation, and stdin is not a terminal",
            f"pass --yes to {command.name} without asking",
        )


def _check_credentials(client: Client) -> None:
    """Get a token, unless the secret has whitespace around it: the API would only say it
    refused it, and the whitespace is what to fix."""
    padded = CLIENT_SECRET.padding(client.client_secret.reveal(), CLIENT_SECRET.environment)
    if padded:
        raise UnusableCredentials(padded)
    client.authenticate()


def _interactive(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real stream
        return False


def _width(out: TextIO) -> int | None:
    """The width tables fit: COLUMNS if set, else the terminal's; no limit when piped."""
    if os.environ.get("COLUMNS") or _interactive(out):
        return shutil.get_terminal_size().columns
    return None


def _report(err: TextIO, prog: str, found: CommandFailure) -> None:
    err.write(f"{prog}: error: {found.message}\n")
    if found.hint:
        err.write(f"hint: {found.hint}\n")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)
