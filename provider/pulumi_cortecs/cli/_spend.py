"""The commands about spend: ``reap`` ends what leases say must end, ``cost`` sums what the
instances have cost, per owner."""

from __future__ import annotations

import argparse
from collections import defaultdict

from pulumi_cortecs._leases import Leases, Reaped
from pulumi_cortecs._pricing import total
from pulumi_cortecs.cli._context import Context
from pulumi_cortecs.cli._errors import Unfinished
from pulumi_cortecs.cli._queries import journal_store, rows_of
from pulumi_cortecs.cli._rows import STOPPED, CostRow, InstanceRow, ReapRow
from pulumi_cortecs.cli._tables import format_price

NO_OWNER = "-"


def leases_of(args: argparse.Namespace) -> Leases:
    """The leases of the journal the command line (or the environment) names."""
    return Leases(journal_store(args))


def reap_rows(ctx: Context, args: argparse.Namespace) -> list[ReapRow]:
    """Act on every lease that has run out, saying each action on stderr as it is done; fails
    (after doing all it can) naming the instances it could not act on."""

    def say(reaped: Reaped) -> None:
        cost = f", cost {format_price(reaped.cost, reaped.currency)}" if reaped.cost else ""
        detail = f": {reaped.detail}" if reaped.detail else ""
        ctx.say(f"{reaped.instance_id} ({reaped.owner}) {reaped.outcome}{cost}{detail}")

    done = leases_of(args).reap(ctx.client, dry_run=args.dry_run, on_reaped=say)
    rows = [ReapRow.of(reaped) for reaped in done]
    failed = [reaped for reaped in done if reaped.failed]
    if failed:
        raise Unfinished(
            f"reap could not act on {', '.join(r.instance_id for r in failed)}: "
            + "; ".join(f"{r.instance_id}: {r.detail}" for r in failed),
            rows,
        )
    return rows


def cost_rows(ctx: Context, args: argparse.Namespace) -> list[CostRow]:
    """Each owner's instances (as their leases name the owner), what they cost per hour now and
    since each last started, per currency."""
    owners = {lease.instance_id: lease.owner for lease in leases_of(args).all()}
    groups: dict[tuple[str, str], list[InstanceRow]] = defaultdict(list)
    for row in rows_of(ctx, ctx.client.list_instances()):
        groups[owners.get(row.instance_id, NO_OWNER), row.currency or ""].append(row)
    return [
        CostRow(
            owner=owner,
            currency=currency or None,
            instances=len(rows),
            not_stopped=sum(row.status != STOPPED for row in rows),
            cost_per_hour=total(row.estimated_cost_per_hour for row in rows),
            cost_since_start=total(row.cost_since_start for row in rows),
        )
        for (owner, currency), rows in sorted(groups.items())
    ]
