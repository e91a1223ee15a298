"""``auto_stop_after``: the lease a resource's instance runs under, granted, renewed and revoked
as ``up`` and ``destroy`` change the instance (see :mod:`pulumi_cortecs._leases`).

Every ``up`` that starts or restarts the instance, or changes ``auto_stop_after``, grants a new
lease from that moment; an ``up`` that changes nothing keeps the lease it finds, unless it has
run out (the instance was, or is about to be, reaped: the ``up`` brings it back and renews it).
A stopped instance, or one without ``auto_stop_after``, holds no lease.

Every start or restart is leased as soon as the API answers it, while the instance boots (a
boot lease: :meth:`~pulumi_cortecs._leases.Lease.booting`), so that an ``up`` killed during a
boot of minutes leaves a lease that ``reap`` acts on. It runs out ``auto_stop_after`` after the
start, but never before the wait for the boot gives up (``wait_timeout_seconds``): until then a
live ``up`` may still be waiting, and renews the lease from the moment the instance is ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pulumi_cortecs._leases import STOP, Lease
from pulumi_cortecs._rules import duration_seconds
from pulumi_cortecs._schema import InstanceInputs
from pulumi_cortecs.api._models import STOPPED, Instance, PriceInfo
from pulumi_cortecs.resource._context import ProviderContext
from pulumi_cortecs.resource._inputs import is_unknown
from pulumi_cortecs.resource._ownership import owner_of
from pulumi_cortecs.resource._reporting import Reporter


def granted(
    context: ProviderContext,
    instance: Instance,
    inputs: InstanceInputs,
    price: PriceInfo | None,
    report: Reporter,
    *,
    renew: bool,
    action: str = STOP,
) -> float | None:
    """When the instance's lease runs out (``None``: it holds none), after granting a new one
    when ``renew`` or when the lease it holds no longer covers it."""
    leases = context.leases
    instance_id = instance.instance_id
    current = leases.get(instance_id)
    if inputs.auto_stop_after is None or instance.status == STOPPED:
        if current is not None:
            leases.revoke(instance_id)
        return None
    now = leases.now()
    if (
        not renew
        and current is not None
        and current.started_at is not None  # a boot lease is renewed once the instance runs
        and not current.expired(now)
        and current.describes(instance) is None
    ):
        return current.expires_at
    if instance.instance_status.started_at is None:
        report.warn(f"{instance_id} reports no start time, so it gets no lease this time")
        return None
    lease = Lease.of(
        instance,
        owner=str(owner_of(inputs.owner)),
        expires_at=now + duration_seconds(inputs.auto_stop_after),
        price=price,
        action=action,
    )
    leases.grant(lease)
    report.info(
        f"{instance_id}: stops at {iso(lease.expires_at)} (auto_stop_after "
        f"{inputs.auto_stop_after}), leased in {leases.where(instance_id)}"
    )
    return lease.expires_at


def booting(
    context: ProviderContext,
    instance: Instance,
    inputs: InstanceInputs,
    price: PriceInfo | None,
    boot_seconds: float,
    *,
    action: str = STOP,
) -> None:
    """Lease an instance just started or restarted, whose boot is waited for at most
    ``boot_seconds`` from now; an instance without ``auto_stop_after`` holds no lease."""
    leases = context.leases
    if inputs.auto_stop_after is None:
        leases.revoke(instance.instance_id)
        return
    now = leases.now()
    lease = Lease.booting(
        instance,
        owner=str(owner_of(inputs.owner)),
        expires_at=now + max(duration_seconds(inputs.auto_stop_after), boot_seconds),
        boot_by=now + boot_seconds,
        price=price,
        action=action,
    )
    leases.grant(lease)


def held_until(context: ProviderContext, instance: Instance) -> float | None:
    """When the lease the instance holds now runs out, as refresh reports it."""
    lease = context.leases.get(instance.instance_id)
    if lease is None or instance.status == STOPPED or lease.describes(instance) is not None:
        return None
    return lease.expires_at


def ran_out(olds: Mapping[str, Any], now: float) -> bool:
    """Whether the state says the instance's lease has run out by ``now``: ``reap`` stops it
    (or has), and the next ``up`` restarts it and renews the lease."""
    stops_at = olds.get("stops_at")
    if not isinstance(stops_at, str) or is_unknown(stops_at):
        return False
    try:
        return datetime.fromisoformat(stops_at).timestamp() <= now
    except ValueError:
        return False


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds")
