"""The command line, built from the table of commands; argparse never exits the process."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from pulumi_cortecs import __title__, __version__
from pulumi_cortecs._urls import DEFAULT_API_BASE_URL, without_userinfo
from pulumi_cortecs.cli._commands import (
    COMMAND_WORDS,
    COMMANDS,
    with_credentials,
    without_credentials,
)
from pulumi_cortecs.cli._errors import UsageError, join_names

PROG = "python -m pulumi_cortecs"
SCRIPT = "cortecs-instances"
"""The installed command (``[project.scripts]`` in pyproject.toml)."""


def invoked_as(argv0: str) -> str:
    """How the user ran the CLI (``sys.argv[0]``), so that messages name what they typed: the
    installed script, else the module."""
    return SCRIPT if Path(argv0).stem == SCRIPT else PROG


API_BASE_URL_VARIABLE = "CORTECS_API_BASE_URL"


class UsageExit(Exception):
    """argparse wanted to exit; carries its status (0 for --help, 2 for a usage error)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise UsageExit(status)


def epilog() -> str:
    """The environment variables and exit codes, under every ``--help``."""
    needing = with_credentials()
    free = without_credentials()
    verb = "needs" if len(needing) == 1 else "need"
    only = "only " if free else ""
    return f"""\
environment:
  CORTECS_CLIENT_ID, CORTECS_CLIENT_SECRET
                 API credentials; {only}{join_names(needing)} {verb} them
                 ({join_names(free)} read the public catalog)
  {API_BASE_URL_VARIABLE}
                 the API (default {DEFAULT_API_BASE_URL}); --api-base-url overrides it
  COLUMNS        the width tables fit (default: the terminal's; no limit when piped)

exit codes:
  0  success
  1  the API failed (unreachable, HTTP error, unknown instance), a watched
     instance stopped or was not running within --timeout, or a confirmation
     was declined
  2  usage error (unknown command or option, malformed URL, unknown hardware,
     a confirmation without a terminal: pass --yes, a journal directory that
     is missing or not a directory)
  3  credentials missing or refused
  `run` exits with its command's status once the command has run
"""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """``[options] COMMAND [options] ...``, one subcommand per declared command."""
    # The shared options are accepted before and after the subcommand; SUPPRESS keeps a
    # subcommand's parser from resetting what was given before it.
    common = _Parser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print JSON (stable keys) instead of a table",
    )
    common.add_argument(
        "--wide",
        action="store_true",
        default=argparse.SUPPRESS,
        help="tables with every column, whole, however wide the terminal",
    )
    common.add_argument(
        "--api-base-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"the API to talk to (default: ${API_BASE_URL_VARIABLE}, else {DEFAULT_API_BASE_URL})",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show each HTTP request on stderr",
    )
    text = epilog()
    parser = _Parser(
        prog=prog,
        description="Browse the cortecs.ai catalog, and see, follow, stop and delete your "
        "dedicated instances. Retries of a failing call are shown on stderr as "
        "`retrying (n/m): reason`.",
        epilog=text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"{__title__} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for command in COMMANDS:
        needs = (
            "Needs CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET."
            if command.needs_credentials
            else "No credentials needed."
        )
        sub = subparsers.add_parser(
            command.name,
            parents=[common],
            help=command.help,
            description=f"{command.description} {needs}",
            epilog=text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for arg in command.arguments:
            sub.add_argument(*arg.flags, **arg.options)
        if command.confirms:
            sub.add_argument(
                "-y",
                "--yes",
                action="store_true",
                help="do not ask (needed when stdin is not a terminal, e.g. in scripts)",
            )
    return parser


def parse(argv: Sequence[str] | None, prog: str = PROG) -> argparse.Namespace:
    """The command line (default: ``sys.argv``). A command that runs another (``run MODEL
    -- CMD ...``) gets every word after the first ``--`` as it is: options there are CMD's,
    which argparse would otherwise take for its own."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog)
    if "--" in words:
        split = words.index("--")
        args = parser.parse_args(words[:split])
        if hasattr(args, COMMAND_WORDS):
            setattr(args, COMMAND_WORDS, [*getattr(args, COMMAND_WORDS), *words[split + 1 :]])
            return args
    return parser.parse_args(words)


def api_base_url(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The API's URL the user chose (``None``: the client's default) and where it came from;
    a usage error if it is not an http(s) URL with a host."""
    given: str | None = getattr(args, "api_base_url", None)
    if given is not None:
        source = "--api-base-url"
    else:
        given = environ.get(API_BASE_URL_VARIABLE) or None
        source = API_BASE_URL_VARIABLE
    if given is None:
        return None, "the default"
    try:
        parts = urlsplit(given)
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError as exc:
        raise _bad_url(given, source, str(exc)) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        reason = "it needs http:// or https:// and a host"
        raise _bad_url(given, source, reason)
    return given, source


def _bad_url(url: str, source: str, reason: str) -> UsageError:
    # A password in the URL is a credential: never echoed, even in a usage error.
    return UsageError(
        f"{source} {without_userinfo(url)!r} is not a URL the CLI can use: {reason}",
        f"the API's URL looks like {DEFAULT_API_BASE_URL}",
    )
