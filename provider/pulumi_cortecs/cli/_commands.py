"""The commands, one declaration each: name, help, arguments, whether it needs credentials and
a confirmation, how it gets its rows, its JSON key and how it renders. The parser, the help
text and ``main`` are built from :data:`COMMANDS`; adding a command is adding a declaration
here (and its rows function, and a view if its rows are of a new kind)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pulumi_cortecs._job import DEFAULT_AUTO_STOP_AFTER, DEFAULT_WAIT_TIMEOUT
from pulumi_cortecs._schema import BILLING_INTERVALS, DEFAULT_WAIT_TIMEOUT_SECONDS
from pulumi_cortecs.cli import _actions, _queries, _run, _spend, _views
from pulumi_cortecs.cli._context import Context
from pulumi_cortecs.cli._errors import EXIT_OK
from pulumi_cortecs.cli._rows import STATUSES, Row
from pulumi_cortecs.cli._tables import Layout

R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class Argument:
    """One ``add_argument`` call: its flags (or name) and keywords."""

    flags: tuple[str, ...]
    options: Mapping[str, Any]


def argument(*flags: str, **options: Any) -> Argument:
    return Argument(flags, options)


@dataclass(frozen=True)
class Command(Generic[R]):
    name: str
    help: str
    """One line, in the list of commands."""
    description: str
    """A paragraph, atop the command's own ``--help``."""
    needs_credentials: bool
    rows: Callable[[Context, argparse.Namespace], Sequence[R]]
    """Does the work and returns what to show; raises for what goes wrong."""
    json_key: str
    """``--json`` prints ``{json_key: [row, ...]}``."""
    render: Callable[[Sequence[R], Layout], str]
    arguments: tuple[Argument, ...] = ()
    confirms: bool = False
    """Asks before acting (``--yes`` skips the question; without a terminal it is needed)."""
    exit_status: Callable[[Sequence[R]], int] = lambda _: EXIT_OK
    """The status the CLI exits with once the rows are shown (``run``: its command's)."""


COMMAND_WORDS = "job_command"
"""Where a command that runs another (``run``) finds its words (see ``_parser.parse``)."""

INSTANCE_IDS = argument("instance_ids", nargs="+", metavar="INSTANCE_ID")
JOURNAL = (
    argument(
        "--journal-dir",
        metavar="DIR",
        help="the journal directory (default: $CORTECS_JOURNAL_DIR, else "
        "~/.local/state/pulumi-cortecs/journal)",
    ),
    argument(
        "--journal-url",
        metavar="S3_URL",
        help="the journal in S3, s3://BUCKET/PREFIX (default: $CORTECS_JOURNAL_URL); "
        "endpoint and credentials from the AWS environment",
    ),
)
"""Where the journal (and its leases) is: as the provider chooses, the URL first."""
JOURNAL_SOURCE = (
    "Read from the journal the provider uses: --journal-url, else CORTECS_JOURNAL_URL, else "
    "--journal-dir, else CORTECS_JOURNAL_DIR, else the default directory per user."
)

COMMANDS: tuple[Command[Any], ...] = (
    Command(
        name="models",
        help="the models and the hardware each fits on, with its maximum context length",
        description="The models, each hardware type it fits on and the maximum context "
        f"length there; {_views.RECOMMENDED_MARK} marks the recommended hardware.",
        needs_credentials=False,
        rows=_queries.model_rows,
        json_key="models",
        render=_views.models_table,
        arguments=(
            argument(
                "--hardware",
                metavar="HARDWARE_TYPE_ID",
                help="only the models that fit on this hardware type (e.g. NVIDIA_L4_1); "
                "an unknown one is a usage error",
            ),
        ),
    ),
    Command(
        name="hardware",
        help="the hardware types with GPU, VRAM, price and availability",
        description="The hardware types: GPU, GPU count, VRAM, price per hour and whether "
        "there is capacity now.",
        needs_credentials=False,
        rows=_queries.hardware_rows,
        json_key="hardware_types",
        render=_views.hardware_table,
        arguments=(
            argument(
                "--available", action="store_true", help="only the hardware types available now"
            ),
        ),
    ),
    Command(
        name="instances",
        help="your instances: model, hardware, status and step, age, price/hour, base_url",
        description="Your instances (all, or the ones named). PRICE/HOUR is the hardware's "
        "price times the workers (0 while stopped); COST is what it has cost since it last "
        "started, every started billing interval (minute or hour) counted. --watch follows "
        "instances as they boot, one line per step on stderr, until each is running (exit 0) "
        "or one is stopped (exit 1); then shows them.",
        needs_credentials=True,
        rows=_queries.instance_rows,
        json_key="instances",
        render=_views.instances_table,
        arguments=(
            argument("instance_ids", nargs="*", metavar="INSTANCE_ID"),
            argument("--status", choices=STATUSES, help="only the instances with this status"),
            argument(
                "--watch",
                action="store_true",
                help="follow the instances named (or every pending one) until they run",
            ),
            argument(
                "--timeout",
                type=float,
                default=DEFAULT_WAIT_TIMEOUT_SECONDS,
                metavar="SECONDS",
                help="how long --watch waits for each instance (default: %(default)g)",
            ),
        ),
    ),
    Command(
        name="stop",
        help="stop instances, so they no longer bill (asks first)",
        description="Stop the instances named: they stop serving and billing, and can be "
        "deleted. Lists them (model, hardware, price) and asks before stopping.",
        needs_credentials=True,
        rows=_actions.stop_rows,
        json_key="stopped",
        render=_views.outcomes_table,
        arguments=(INSTANCE_IDS,),
        confirms=True,
    ),
    Command(
        name="delete",
        help="delete instances, stopping running ones first (asks first)",
        description="Delete the instances named, stopping each one that is not stopped first "
        "(the API deletes only stopped instances). Lists them (model, hardware, price) and "
        "asks before deleting.",
        needs_credentials=True,
        rows=_actions.delete_rows,
        json_key="deleted",
        render=_views.outcomes_table,
        arguments=(INSTANCE_IDS,),
        confirms=True,
    ),
    Command(
        name="orphans",
        help="instances a journal records as started but no stack holds, and how to clean each",
        description="Instances that a provider started for a resource, wrote in its journal, "
        "and never handed to the resource's stack (an interrupted `pulumi up`, a create whose "
        "cleanup failed): they bill while they run. Each comes with its owner "
        "(the resource's URN), age, price and what to do about it. " + JOURNAL_SOURCE,
        needs_credentials=True,
        rows=_queries.orphan_rows,
        json_key="orphans",
        render=_views.orphans_table,
        arguments=JOURNAL,
    ),
    Command(
        name="reap",
        help="stop (or delete) the instances whose lease has run out (auto_stop_after)",
        description="Act on every lease in the journal that has run out: stop its instance "
        "(delete it when the lease says so) if it is still the instance the lease describes "
        "(same id, start time and arguments), and remove the lease; remove the leases of "
        "instances already stopped or gone; leave the others and say why. Does only what a "
        "lease declared, so it asks nothing. Safe to run from several places at once. Each "
        "action, with its owner and what the instance cost, is said on stderr as it is done; "
        "exit 1 naming the instances it could not act on, after reporting the rest on "
        "stdout as usual. " + JOURNAL_SOURCE,
        needs_credentials=True,
        rows=_spend.reap_rows,
        json_key="reaped",
        render=_views.reap_table,
        arguments=(
            *JOURNAL,
            argument("--dry-run", action="store_true", help="say what would be done, do nothing"),
        ),
    ),
    Command(
        name="cost",
        help="what your instances cost per hour and since each last started, per owner",
        description="Your instances summed per owner (as their leases in the journal name it; "
        "- for instances no lease names) and currency: how many, how many not stopped, what "
        "they cost per hour now and since each last started.",
        needs_credentials=True,
        rows=_spend.cost_rows,
        json_key="costs",
        render=_views.cost_table,
        arguments=JOURNAL,
    ),
    Command(
        name="run",
        help="an instance for one command: start it, run CMD with it, then stop and delete it",
        description="Check MODEL and the options like a preview (unknown model, hardware or "
        "context, a price above --max-price-per-hour: nothing starts), start an instance, wait "
        "until it answers a chat completion (progress on stderr), then run CMD with "
        "OPENAI_BASE_URL, OPENAI_API_BASE, OPENAI_API_KEY, OPENAI_MODEL and CORTECS_INSTANCE_ID "
        "set for it. Afterwards, also on Ctrl-C, SIGTERM, SIGHUP and when CMD fails, stop and "
        "delete the instance (unless --keep). Exits with CMD's status (124 when "
        "--auto-stop-after stopped it). Needs CORTECS_API_KEY too.",
        needs_credentials=True,
        rows=_run.run_rows,
        json_key="runs",
        render=_run.render,
        exit_status=_run.exit_status,
        arguments=(
            argument("model", metavar="MODEL", help="a Hugging Face name or API id"),
            argument(
                "--hardware",
                metavar="HARDWARE_TYPE_ID",
                help="the hardware type (default: the model's recommended one)",
            ),
            argument(
                "--context",
                type=int,
                metavar="N",
                help="the context length (default: min(32000, the hardware's maximum))",
            ),
            argument("--workers", type=int, metavar="N", help="workers, 1 to 8 (default: 1)"),
            argument(
                "--billing",
                choices=BILLING_INTERVALS,
                help="billing interval (default: per_minute)",
            ),
            argument(
                "--max-price-per-hour",
                type=float,
                metavar="P",
                help="start nothing when the price per hour x workers is above P",
            ),
            argument(
                "--auto-stop-after",
                type=_run.duration,
                default=DEFAULT_AUTO_STOP_AFTER,
                metavar="D",
                help="stop CMD and the instance after D (90s, 45m, 8h, 2d); the instance's "
                f"lease runs out then, for `reap` (default: {DEFAULT_AUTO_STOP_AFTER})",
            ),
            argument(
                "--wait-timeout",
                type=_run.duration,
                default=DEFAULT_WAIT_TIMEOUT,
                metavar="D",
                help="give up (and delete the instance) when it is not ready after D; until "
                "then a `run` may still wait for it, so its lease lasts at least as long "
                f"(default: {DEFAULT_WAIT_TIMEOUT})",
            ),
            argument("--keep", action="store_true", help="leave the instance running after CMD"),
            argument(COMMAND_WORDS, nargs="*", metavar="-- CMD [ARGS...]"),
        ),
    ),
)


BY_NAME: dict[str, Command[Any]] = {command.name: command for command in COMMANDS}


def without_credentials() -> list[str]:
    """The names of the commands that need no credentials."""
    return [command.name for command in COMMANDS if not command.needs_credentials]


def with_credentials() -> list[str]:
    """The names of the commands that need credentials."""
    return [command.name for command in COMMANDS if command.needs_credentials]
