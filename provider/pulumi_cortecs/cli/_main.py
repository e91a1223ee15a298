"""``python -m pulumi_cortecs``: the catalog (models, hardware) and your instances, as tables or
JSON.

``models`` and ``hardware`` read the public catalog and need no credentials; ``instances`` needs
``CORTECS_CLIENT_ID`` and ``CORTECS_CLIENT_SECRET``. Errors go to stderr and never show a secret.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NoReturn, TextIO

from pulumi_cortecs._exceptions import (
    ApiError,
    AuthenticationError,
    MissingCredentialsError,
    NotFoundError,
)
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import HardwareType, Instance, ModelPreview

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3

PROG = "python -m pulumi_cortecs"
EPILOG = """\
environment:
  CORTECS_CLIENT_ID, CORTECS_CLIENT_SECRET
                 API credentials; only `instances` needs them
                 (`models` and `hardware` read the public catalog)
  CORTECS_API_BASE_URL
                 the API (default https://cortecs.ai/api/v1); --api-base-url overrides it

exit codes:
  0  success
  1  the API failed (unreachable, HTTP error, unknown instance)
  2  usage error (unknown command or option)
  3  credentials missing or refused
"""

MISSING_CREDENTIALS = (
    "`{command}` needs API credentials: set the CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET "
    "environment variables (your cortecs.ai client id and secret). `models` and `hardware` "
    "need no credentials."
)
REFUSED_CREDENTIALS_HINT = "check CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET"
RECOMMENDED_MARK = "*"

ClientFactory = Callable[[str | None], Client]


class _UsageError(Exception):
    """argparse wanted to exit; carries its status (0 for --help, 2 for a usage error)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise _UsageError(status)


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``[--json] [--api-base-url URL] models|hardware|instances ...``."""
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
    parser = _Parser(
        prog=PROG,
        description="Browse the cortecs.ai catalog and your dedicated instances.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    models = commands.add_parser(
        "models",
        parents=[common],
        help="the models and the hardware each fits on, with its maximum context length",
        description="The models, each hardware type it fits on and the maximum context "
        f"length there; {RECOMMENDED_MARK} marks the recommended hardware. No credentials needed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    models.add_argument(
        "--hardware",
        metavar="HARDWARE_TYPE_ID",
        help="only the models that fit on this hardware type (e.g. NVIDIA_L4_1)",
    )

    hardware = commands.add_parser(
        "hardware",
        parents=[common],
        help="the hardware types with GPU, VRAM, price and availability",
        description="The hardware types: GPU, GPU count, VRAM, price per hour and whether "
        "there is capacity now. No credentials needed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hardware.add_argument(
        "--available", action="store_true", help="only the hardware types available now"
    )

    instances = commands.add_parser(
        "instances",
        parents=[common],
        help="your instances: model, hardware, status, progress, age, base_url",
        description="Your instances (all, or the ones named). Needs CORTECS_CLIENT_ID and "
        "CORTECS_CLIENT_SECRET.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    instances.add_argument("instance_ids", nargs="*", metavar="INSTANCE_ID")
    instances.add_argument(
        "--status",
        choices=("pending", "running", "stopped"),
        help="only the instances with this status",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    client_factory: ClientFactory | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    now: Callable[[], datetime] | None = None,
) -> int:
    """Run the CLI and return its exit code (see ``EPILOG``); never raises for API errors.

    ``client_factory(api_base_url)`` builds the client (default: :class:`Client` with the
    credentials of the environment); tests pass one with instant retries. ``now`` gives the
    moment instance ages are counted to (default: the current UTC time).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        return exc.status
    factory = client_factory or _default_client
    command: str = args.command
    try:
        with factory(getattr(args, "api_base_url", None)) as client:
            if command == "models":
                rows = model_rows(client, hardware=args.hardware)
                render = _render_models
            elif command == "hardware":
                rows = hardware_rows(client, available_only=args.available)
                render = _render_hardware
            else:
                rows = instance_rows(
                    client, args.instance_ids, status=args.status, now=now() if now else None
                )
                render = _render_instances
    except MissingCredentialsError:
        _error(err, MISSING_CREDENTIALS.format(command=command))
        return EXIT_CREDENTIALS
    except AuthenticationError as exc:
        hint = "" if "CORTECS_CLIENT_ID" in exc.message else f" ({REFUSED_CREDENTIALS_HINT})"
        _error(err, f"the credentials were refused: {exc.message}{hint}")
        return EXIT_CREDENTIALS
    except ApiError as exc:
        _error(err, exc.message)
        return EXIT_API_ERROR
    except (ValueError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
        _error(err, f"the API sent an answer this client cannot read: {exc}")
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        return 130
    if getattr(args, "json", False):
        key = {"models": "models", "hardware": "hardware_types", "instances": "instances"}
        text = json.dumps({key[command]: rows}, indent=2) + "\n"
    else:
        text = render(rows)
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        # Piped into `head` or similar, which stopped reading: not an error.
        pass
    return EXIT_OK


def _default_client(api_base_url: str | None) -> Client:
    return Client(api_base_url=api_base_url)


def _error(stream: TextIO, message: str) -> None:
    stream.write(f"{PROG}: error: {message}\n")


# Data: one JSON-ready dict per row, with stable keys.


def model_rows(client: Client, *, hardware: str | None = None) -> list[dict[str, Any]]:
    """Every model with the hardware it fits on (from each model's detail, fetched in parallel)."""
    previews = client.list_models()
    if hardware is not None:
        previews = [p for p in previews if hardware in p.hardware_configs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        details = list(pool.map(lambda p: _detail(client, p), previews))
    rows = []
    for model in details:
        fits = [
            {
                "hardware_type_id": hw,
                "max_context_length": model.max_context_lengths.get(hw),
                "recommended": hw == model.recommended_config,
            }
            for hw in model.hardware_configs
            if hardware is None or hw == hardware
        ]
        rows.append(
            {
                "model_id": model.model_id,
                "hf_name": model.hf_name,
                "screen_name": model.screen_name,
                "creator": model.creator.name if model.creator else None,
                "size": model.size,
                "instant_provisioned": model.instant_provisioned,
                "recommended_hardware": model.recommended_config,
                "hardware": fits,
            }
        )
    return rows


def _detail(client: Client, preview: ModelPreview) -> ModelPreview:
    try:
        return client.get_model(preview.model_id)
    except NotFoundError:
        # Listed but gone by the time we asked: show what the list said.
        return preview


_GPU_KEYS = ("gpu", "gpu_name", "gpu_type", "gpu_model", "name")
_GPU_COUNT_KEYS = ("gpu_count", "num_gpus", "gpus", "count")
_VRAM_KEYS = ("vram_gb", "vram", "gpu_memory_gb", "memory_gb", "total_vram_gb")


def hardware_rows(client: Client, *, available_only: bool = False) -> list[dict[str, Any]]:
    """Every hardware type (or only the available ones) with its specs, price and availability."""
    available = {hw.hardware_type_id for hw in client.list_hardware_types(available_only=True)}
    every = client.list_hardware_types()
    if available_only:
        every = [hw for hw in every if hw.hardware_type_id in available]
    return [_hardware_row(hw, hw.hardware_type_id in available) for hw in every]


def _hardware_row(hw: HardwareType, available: bool) -> dict[str, Any]:
    info = hw.hardware_info
    return {
        "hardware_type_id": hw.hardware_type_id,
        "gpu": _first(info, _GPU_KEYS),
        "gpu_count": _first(info, _GPU_COUNT_KEYS),
        "vram_gb": _first(info, _VRAM_KEYS),
        "price_per_hour": hw.price_info.price_per_hour,
        "price_per_minute": hw.price_info.price_per_minute,
        "currency": hw.price_info.currency,
        "available": available,
        "hardware_info": info,
    }


def _first(info: Mapping[str, Any], keys: Iterable[str]) -> Any:
    return next((info[key] for key in keys if info.get(key) is not None), None)


def instance_rows(
    client: Client,
    instance_ids: Sequence[str] = (),
    *,
    status: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The instances named (all when none are), as rows."""
    if instance_ids:
        instances = [client.get_instance(instance_id) for instance_id in instance_ids]
    else:
        instances = client.list_instances()
    if status is not None:
        instances = [i for i in instances if i.status == status]
    moment = now or datetime.now(timezone.utc)
    return [_instance_row(instance, moment) for instance in instances]


def _instance_row(instance: Instance, now: datetime) -> dict[str, Any]:
    args = instance.instance_args
    state = instance.instance_status
    progress = state.init_progress
    started = _aware(state.started_at)
    stopped = _aware(state.stopped_at)
    age = None if started is None else max(0.0, ((stopped or now) - started).total_seconds())
    return {
        "instance_id": instance.instance_id,
        "model_id": args.model_id,
        "model_name": instance.hf_name,
        "hardware_type_id": args.hardware_type_id,
        "context_length": args.context_length,
        "billing_interval": args.billing_interval,
        "num_workers": args.num_workers,
        "status": instance.status,
        "current_step": progress.current_step if progress else None,
        "num_steps": progress.num_steps if progress else None,
        "step_description": progress.description if progress else None,
        "started_at": started.isoformat() if started else None,
        "stopped_at": stopped.isoformat() if stopped else None,
        "age_seconds": None if age is None else round(age),
        "base_url": instance.base_url,
    }


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


# Tables


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False


def format_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns, two spaces apart; numbers right-aligned; no trailing spaces."""
    widths = [
        max([len(column.header), *(len(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    lines = []
    for cells in [[c.header for c in columns], *rows]:
        padded = [
            cell.rjust(width) if column.right else cell.ljust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def format_age(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h05m``, ``2d04h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_context(length: int | None) -> str:
    return "-" if length is None else f"{length:,}"


def format_step(row: Mapping[str, Any]) -> str:
    if row["current_step"] is None:
        return "-"
    step = f"{row['current_step']}/{row['num_steps']} {row['step_description'] or ''}"
    return step.rstrip()


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _render_models(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No models.\n"
    columns = [
        Column("MODEL ID"),
        Column("HF NAME"),
        Column("HARDWARE"),
        Column("MAX CONTEXT", right=True),
    ]
    table: list[list[str]] = []
    for row in rows:
        fits = row["hardware"] or [{"hardware_type_id": None, "max_context_length": None}]
        for index, fit in enumerate(fits):
            mark = f" {RECOMMENDED_MARK}" if fit.get("recommended") else ""
            table.append(
                [
                    row["model_id"] if index == 0 else "",
                    row["hf_name"] if index == 0 else "",
                    _cell(fit["hardware_type_id"]) + mark,
                    format_context(fit["max_context_length"]),
                ]
            )
    return format_table(columns, table) + f"\n{RECOMMENDED_MARK} recommended hardware\n"


def _render_hardware(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No hardware types.\n"
    columns = [
        Column("HARDWARE"),
        Column("GPU"),
        Column("GPUS", right=True),
        Column("VRAM", right=True),
        Column("PRICE/HOUR", right=True),
        Column("AVAILABLE"),
    ]
    table = [
        [
            row["hardware_type_id"],
            _cell(row["gpu"]),
            _cell(row["gpu_count"]),
            "-" if row["vram_gb"] is None else f"{row['vram_gb']} GB",
            f"{row['price_per_hour']:.2f} {row['currency']}",
            "yes" if row["available"] else "no",
        ]
        for row in rows
    ]
    return format_table(columns, table)


def _render_instances(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No instances.\n"
    columns = [
        Column("INSTANCE ID"),
        Column("MODEL"),
        Column("HARDWARE"),
        Column("STATUS"),
        Column("STEP"),
        Column("AGE", right=True),
        Column("BASE URL"),
    ]
    table = [
        [
            row["instance_id"],
            row["model_name"],
            _cell(row["hardware_type_id"]),
            row["status"],
            format_step(row),
            format_age(row["age_seconds"]),
            _cell(row["base_url"]),
        ]
        for row in rows
    ]
    return format_table(columns, table)
