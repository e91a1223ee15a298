"""The commands, one declaration each: name, help, arguments, whether it needs credentials, how
it gets its rows, its JSON key and how it renders. The parser, the help text and ``main`` are
built from :data:`COMMANDS`; adding a command is adding a declaration here."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pulumi_cortecs._exceptions import NotFoundError
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import HardwareType, ModelPreview
from pulumi_cortecs.cli import _views
from pulumi_cortecs.cli._rows import HardwareRow, InstanceRow, ModelRow, Row

R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class Context:
    """What a command works with: the API client and the moment ages are counted to."""

    client: Client
    now: Callable[[], datetime]


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
    json_key: str
    """``--json`` prints ``{json_key: [row, ...]}``."""
    render: Callable[[Sequence[R]], str]
    arguments: tuple[Argument, ...] = field(default=())


# How each command gets its rows.


def model_rows(ctx: Context, args: argparse.Namespace) -> list[ModelRow]:
    """Every model with the hardware it fits on (from each model's detail, fetched in parallel)."""
    hardware: str | None = args.hardware
    client = ctx.client
    previews: list[ModelPreview] = client.list_models()
    if hardware is not None:
        previews = [p for p in previews if hardware in p.hardware_configs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        details = list(pool.map(lambda p: _detail(client, p), previews))
    return [ModelRow.of(model, only_hardware=hardware) for model in details]


def _detail(client: Client, preview: ModelPreview) -> ModelPreview:
    try:
        return client.get_model(preview.model_id)
    except NotFoundError:
        # Listed but gone by the time we asked: show what the list said.
        return preview


def hardware_rows(ctx: Context, args: argparse.Namespace) -> list[HardwareRow]:
    """Every hardware type (or only the available ones) with its specs, price and availability."""
    client = ctx.client
    available = {hw.hardware_type_id for hw in client.list_hardware_types(available_only=True)}
    every: list[HardwareType] = client.list_hardware_types()
    if args.available:
        every = [hw for hw in every if hw.hardware_type_id in available]
    return [HardwareRow.of(hw, available=hw.hardware_type_id in available) for hw in every]


def instance_rows(ctx: Context, args: argparse.Namespace) -> list[InstanceRow]:
    """The instances named (all when none are), as rows."""
    client = ctx.client
    ids: list[str] = args.instance_ids
    instances = [client.get_instance(i) for i in ids] if ids else client.list_instances()
    if args.status is not None:
        instances = [i for i in instances if i.status == args.status]
    moment = ctx.now()
    return [InstanceRow.of(instance, moment) for instance in instances]


COMMANDS: tuple[Command[Any], ...] = (
    Command(
        name="models",
        help="the models and the hardware each fits on, with its maximum context length",
        description="The models, each hardware type it fits on and the maximum context "
        f"length there; {_views.RECOMMENDED_MARK} marks the recommended hardware.",
        needs_credentials=False,
        rows=model_rows,
        json_key="models",
        render=_views.models_table,
        arguments=(
            argument(
                "--hardware",
                metavar="HARDWARE_TYPE_ID",
                help="only the models that fit on this hardware type (e.g. NVIDIA_L4_1)",
            ),
        ),
    ),
    Command(
        name="hardware",
        help="the hardware types with GPU, VRAM, price and availability",
        description="The hardware types: GPU, GPU count, VRAM, price per hour and whether "
        "there is capacity now.",
        needs_credentials=False,
        rows=hardware_rows,
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
        help="your instances: model, hardware, status, progress, age, base_url",
        description="Your instances (all, or the ones named).",
        needs_credentials=True,
        rows=instance_rows,
        json_key="instances",
        render=_views.instances_table,
        arguments=(
            argument("instance_ids", nargs="*", metavar="INSTANCE_ID"),
            argument(
                "--status",
                choices=("pending", "running", "stopped"),
                help="only the instances with this status",
            ),
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
