"""The commands that change instances: ``stop`` and ``delete``, each after a confirmation that
names what it is about to act on (instance, model, hardware and price)."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pulumi_cortecs import Instance
from pulumi_cortecs.cli._context import Context
from pulumi_cortecs.cli._errors import Declined
from pulumi_cortecs.cli._queries import rows_of
from pulumi_cortecs.cli._rows import STOPPED, InstanceRow, OutcomeRow
from pulumi_cortecs.cli._views import confirmation_table


@dataclass(frozen=True)
class _Verb:
    name: str
    past: str


_STOP = _Verb("stop", "stopped")
_DELETE = _Verb("delete", "deleted")


def stop_rows(ctx: Context, args: argparse.Namespace) -> list[OutcomeRow]:
    """Stop the instances named; an instance already stopped is left as it is."""
    instances = _fetch(ctx, args.instance_ids)
    to_stop = [i for i in instances if i.status != STOPPED]
    if to_stop:
        _confirm(ctx, _STOP, rows_of(ctx, to_stop), "They stop serving and billing.")
    done: dict[str, str] = {}
    for instance in instances:
        if instance.status == STOPPED:
            done[instance.instance_id] = "already stopped"
            continue

        def stop(instance: Instance = instance) -> None:
            _stop(ctx, instance)
            done[instance.instance_id] = "stopped"

        _step(ctx, _STOP, done, instances, stop)
    return [_outcome(i, done[i.instance_id]) for i in instances]


def delete_rows(ctx: Context, args: argparse.Namespace) -> list[OutcomeRow]:
    """Delete the instances named, stopping the ones that are not stopped first."""
    instances = _fetch(ctx, args.instance_ids)
    running = [i.instance_id for i in instances if i.status != STOPPED]
    first = f" Not stopped yet, so stopped first: {', '.join(running)}." if running else ""
    _confirm(ctx, _DELETE, rows_of(ctx, instances), f"This cannot be undone.{first}")
    done: dict[str, str] = {}
    for instance in instances:

        def delete(instance: Instance = instance) -> None:
            outcome = "deleted"
            if instance.status != STOPPED:
                _stop(ctx, instance)
                outcome = "stopped and deleted"
            ctx.client.delete(instance.instance_id)
            done[instance.instance_id] = outcome

        _step(ctx, _DELETE, done, instances, delete)
    return [_outcome(i, done[i.instance_id]) for i in instances]


def _fetch(ctx: Context, instance_ids: Sequence[str]) -> list[Instance]:
    """Each instance once, in the order named; an unknown one fails before anything is done."""
    unique = list(dict.fromkeys(instance_ids))
    return [ctx.client.get_instance(instance_id) for instance_id in unique]


def _confirm(ctx: Context, verb: _Verb, rows: Sequence[InstanceRow], note: str) -> None:
    them = "it" if len(rows) == 1 else "them"
    intro = f"About to {verb.name} {_count(len(rows))}. {note}"
    if ctx.layout.width is not None:
        intro = textwrap.fill(intro, ctx.layout.width, break_on_hyphens=False)
    text = f"{intro}\n{confirmation_table(rows, ctx.layout)}"
    if not ctx.confirm(text, f"{verb.name.capitalize()} {them}?"):
        raise Declined(f"not confirmed: nothing was {verb.past}")


def _stop(ctx: Context, instance: Instance) -> None:
    stopped = ctx.client.stop(instance.instance_id)
    if stopped.status != STOPPED:
        ctx.say(f"{instance.instance_id}  {stopped.status}: waiting for it to stop")
        ctx.client.wait_until_stopped(instance.instance_id)


def _step(
    ctx: Context,
    verb: _Verb,
    done: dict[str, str],
    instances: Sequence[Instance],
    act: Callable[[], None],
) -> None:
    """Run one instance's action; if it fails, say what was done and what was not before the
    error is reported."""
    try:
        act()
    except BaseException:
        finished = [f"{instance_id} {outcome}" for instance_id, outcome in done.items()]
        left = [i.instance_id for i in instances if i.instance_id not in done]
        if finished:
            ctx.say(f"done before the failure: {', '.join(finished)}")
        ctx.say(f"not {verb.past}: {', '.join(left)}")
        raise


def _outcome(instance: Instance, outcome: str) -> OutcomeRow:
    return OutcomeRow(
        instance_id=instance.instance_id,
        model_name=instance.hf_name,
        hardware_type_id=instance.instance_args.hardware_type_id,
        status_before=instance.status,
        outcome=outcome,
    )


def _count(n: int) -> str:
    return f"{n} instance{'' if n == 1 else 's'}"
