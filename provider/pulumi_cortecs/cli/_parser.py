"""The command line, built from the table of commands; argparse never exits the process."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from pulumi_cortecs.cli._commands import COMMANDS, with_credentials, without_credentials
from pulumi_cortecs.cli._errors import join_names

PROG = "python -m pulumi_cortecs"


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
  CORTECS_API_BASE_URL
                 the API (default https://cortecs.ai/api/v1); --api-base-url overrides it

exit codes:
  0  success
  1  the API failed (unreachable, HTTP error, unknown instance)
  2  usage error (unknown command or option)
  3  credentials missing or refused
"""


def build_parser() -> argparse.ArgumentParser:
    """``[--json] [--api-base-url URL] COMMAND ...``, one subcommand per declared command."""
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
        "--api-base-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="the API to talk to (default: $CORTECS_API_BASE_URL, else https://cortecs.ai/api/v1)",
    )
    text = epilog()
    parser = _Parser(
        prog=PROG,
        description="Browse the cortecs.ai catalog and your dedicated instances.",
        epilog=text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
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
    return parser
