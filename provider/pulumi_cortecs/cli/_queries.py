"""The commands that read: the catalog, and the instances (optionally followed as they boot)."""

from __future__ import annotations

import argparse
import difflib
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TypeVar

from pulumi_cortecs import (
    Client,
    HardwareType,
    Instance,
    ModelPreview,
    NotFoundError,
    PriceInfo,
)
from pulumi_cortecs._journal import Journal
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._pricing import cost_per_hour
from pulumi_cortecs._schema import JOURNAL_DIR, JOURNAL_URL
from pulumi_cortecs._store import Store, open_store
from pulumi_cortecs.cli._context import Context
from pulumi_cortecs.cli._errors import UsageError
from pulumi_cortecs.cli._rows import (
    PENDING,
    RUNNING,
    HardwareRow,
    InstanceRow,
    ModelRow,
    OrphanRow,
)

T = TypeVar("T")
U = TypeVar("U")

_PARALLEL_REQUESTS = 8


def model_rows(ctx: Context, args: argparse.Namespace) -> list[ModelRow]:
    """Every model with the hardware it fits on (from each model's detail, fetched in parallel);
    ``--hardware`` keeps the models that fit that hardware type, which must exist."""
    hardware: str | None = args.hardware
    client = ctx.client
    previews: list[ModelPreview] = client.list_models()
    if hardware is not None:
        _check_hardware(client, hardware, previews)
        previews = [p for p in previews if hardware in p.hardware_configs]
    details = _in_parallel(lambda p: _detail(client, p), previews)
    return [ModelRow.of(model, only_hardware=hardware) for model in details]


def _check_hardware(client: Client, hardware: str, previews: Iterable[ModelPreview]) -> None:
    known = {hw.hardware_type_id for hw in client.list_hardware_types()}
    known.update(hw for preview in previews for hw in preview.hardware_configs)
    if hardware in known:
        return
    close = difflib.get_close_matches(hardware, known, n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(
        f"unknown hardware type {hardware!r}{guess}",
        f"the hardware types are {', '.join(sorted(known))} (`hardware` lists them)",
    )


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


def prices(client: Client) -> dict[str, PriceInfo]:
    """Each hardware type's price (a public call)."""
    return {hw.hardware_type_id: hw.price_info for hw in client.list_hardware_types()}


def rows_of(ctx: Context, instances: Iterable[Instance]) -> list[InstanceRow]:
    """Rows with prices, as of now."""
    price = prices(ctx.client)
    moment = ctx.now()
    return [
        InstanceRow.of(i, moment, price.get(i.instance_args.hardware_type_id or ""))
        for i in instances
    ]


def instance_rows(ctx: Context, args: argparse.Namespace) -> list[InstanceRow]:
    """The instances named (all when none are), as rows; with ``--watch``, once each has become
    running (or one has stopped, which fails the command)."""
    client = ctx.client
    ids: list[str] = args.instance_ids
    instances = [client.get_instance(i) for i in ids] if ids else client.list_instances()
    if args.watch:
        targets = ids or [i.instance_id for i in instances if i.status == PENDING]
        if not targets:
            ctx.say("No pending instances to watch.")
        watch(ctx, targets, timeout=args.timeout)
        instances = [client.get_instance(i) for i in ids] if ids else client.list_instances()
    if args.status is not None:
        instances = [i for i in instances if i.status == args.status]
    return rows_of(ctx, instances)


def watch(ctx: Context, instance_ids: Sequence[str], *, timeout: float) -> None:
    """Follow each instance until it runs, one line per status or step it is seen in:
    ``instance-7  pending 3/5 Downloading weights  (42s)``. Raises the first failure (an
    instance that stopped, or a timeout) once every instance's wait is over."""
    began = ctx.clock()

    def follow(instance_id: str) -> None:
        def on_progress(instance: Instance) -> None:
            row = InstanceRow.of(instance, ctx.now())
            where = f"  {row.base_url}" if row.status == RUNNING and row.base_url else ""
            elapsed = format_elapsed(ctx.clock() - began)
            ctx.say(f"{instance_id}  {row.state}{where}  ({elapsed})")

        ctx.client.wait_until_running(instance_id, timeout=timeout, on_progress=on_progress)

    failures: list[Exception] = []

    def follow_noting_failure(instance_id: str) -> None:
        try:
            follow(instance_id)
        except Exception as exc:
            failures.append(exc)

    if len(instance_ids) == 1:
        follow_noting_failure(instance_ids[0])
    else:
        # Daemon threads, not a pool: Ctrl-C ends the process without waiting for the waits.
        threads = [
            threading.Thread(target=follow_noting_failure, args=(i,), name=i, daemon=True)
            for i in instance_ids
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]


def format_elapsed(seconds: float) -> str:
    """``42s``, ``3m07s``, ``1h02m``."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _in_parallel(call: Callable[[T], U], items: Sequence[T]) -> list[U]:
    """``call`` on each item, in threads when there are several; results in order."""
    if len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(_PARALLEL_REQUESTS, len(items))) as pool:
        return list(pool.map(call, items))


def journal_store(args: argparse.Namespace) -> Store:
    """The journal's store the command line (or the environment) names, as the provider
    chooses it: ``--journal-url`` (``CORTECS_JOURNAL_URL``) first, then ``--journal-dir``
    (``CORTECS_JOURNAL_DIR``), then the default directory."""
    return open_store(JOURNAL_URL.value(args.journal_url) or JOURNAL_DIR.value(args.journal_dir))


def orphan_rows(ctx: Context, args: argparse.Namespace) -> list[OrphanRow]:
    """What the journal (``--journal-url`` or ``CORTECS_JOURNAL_URL``, else ``--journal-dir``,
    ``CORTECS_JOURNAL_DIR`` or the default directory, as the provider chooses) records as
    started for a resource but never handed to its stack, as the API shows it now."""
    records = [(where, e) for where, e in Journal(journal_store(args)).all_entries() if e.pending]
    if not records:
        return []
    live = {instance.instance_id: instance for instance in ctx.client.list_instances()}
    price = prices(ctx.client)
    moment = ctx.now()
    rows = []
    for where, entry in records:
        ids: list[str | None] = [*sorted(entry.owned())] or [None]
        for instance_id in ids:
            instance = live.get(instance_id or "")
            started_with = instance.instance_args if instance else entry.resolved
            hardware = price.get(started_with.hardware_type_id or "")
            recorded = datetime.fromtimestamp(entry.recorded_at, timezone.utc)
            rows.append(
                OrphanRow(
                    instance_id=instance_id,
                    owner=entry.owner,
                    record=entry.state,
                    recorded_at=recorded.isoformat(),
                    age_seconds=round(max(0.0, (moment - recorded).total_seconds())),
                    status=instance.status if instance else ("gone" if instance_id else None),
                    model_name=started_with.hf_name,
                    hardware_type_id=started_with.hardware_type_id,
                    estimated_cost_per_hour=(
                        cost_per_hour(hardware.price_per_hour, started_with.num_workers)
                        if hardware
                        else None
                    ),
                    currency=hardware.currency if hardware else None,
                    journal=where,
                    clean=_how_to_clean(entry.owner, entry.state, instance_id, instance),
                )
            )
    return rows


def _how_to_clean(
    owner: str, record: str, instance_id: str | None, instance: Instance | None
) -> str:
    parsed = Owner.parse(owner)
    stack, resource = parsed.stack, parsed.name
    if instance_id is None:
        return (
            f"its start's answer never came: the next `pulumi up` of stack {stack} checks what "
            f"it created for {resource}"
        )
    if instance is None:
        return f"gone, nothing is billed; the next `pulumi up` of stack {stack} forgets it"
    if record == "unresolved":
        return (
            f"may be another stack's: if no stack's state holds it, `cortecs-instances delete "
            f"{instance_id}`"
        )
    return (
        f"`pulumi up` of stack {stack} adopts it while it declares {resource} with the same "
        f"arguments; or `cortecs-instances delete {instance_id}`"
    )
