"""Which instance belongs to which resource.

The API has no names, tags or idempotency keys on instances, so the provider decides: an
instance it starts for a resource is recorded in the journal until the engine has its id, and
an instance of this deployment is claimed so that no other create takes it.
"""

from __future__ import annotations

import threading

import pulumi

from pulumi_cortecs._schema import START_ARGS
from pulumi_cortecs.api._models import PENDING, Instance, InstanceArgs
from pulumi_cortecs.resource._context import ProviderContext


class Ownership:
    """Claims on instances within one provider process, and obtaining one for a new resource."""

    def __init__(self, context: ProviderContext) -> None:
        self._context = context
        self._lock = threading.Lock()
        self._claimed: set[str] = set()

    def claim(self, instance_id: str) -> None:
        """Mark an instance as owned by a resource of this deployment: never adopt it."""
        with self._lock:
            self._claimed.add(instance_id)

    def obtain(self, args: InstanceArgs, resolved: InstanceArgs, *, adopt: bool) -> Instance:
        """An instance for a new resource: one left behind if ``adopt`` allows, else a new one.

        Adopting and starting happen under one lock, so a concurrent create can never take an
        instance another create of this deployment has just started but not yet claimed.
        """
        context = self._context
        with self._lock:
            instance = self._left_behind(resolved) if adopt else None
            if instance is not None:
                pulumi.log.info(
                    f"adopted {instance.instance_id} ({instance.status}) left by an earlier run"
                )
            else:
                instance = context.client.start(args)
                context.journal.record(instance.instance_id, resolved.to_request())
                pulumi.log.info(f"started {instance.instance_id}: {describe(resolved)}")
            self._claimed.add(instance.instance_id)
        return instance

    def _left_behind(self, resolved: InstanceArgs) -> Instance | None:
        """An instance with these exact arguments that an interrupted create left behind.

        Left behind means: recorded in this project's journal as started but never handed to
        the engine, or still pending (booting; nobody can be using it yet). Running instances
        outside the journal are never taken: they may belong to another stack or team.
        """
        journaled = self._context.journal.entries()
        for instance in self._context.client.list_instances():
            if instance.instance_id in self._claimed:
                continue
            if not started_with(instance, resolved):
                continue
            if instance.instance_id in journaled or instance.status == PENDING:
                return instance
        return None


def started_with(instance: Instance, resolved: InstanceArgs) -> bool:
    """Whether the API resolved the instance's start arguments to ``resolved`` (an argument the
    API does not report is its documented default)."""
    for prop in START_ARGS:
        actual = getattr(instance.instance_args, prop.name)
        if (prop.api_default if actual is None else actual) != getattr(resolved, prop.name):
            return False
    return True


def describe(args: InstanceArgs) -> str:
    return (
        f"{args.hf_name} on {args.hardware_type_id} x {args.num_workers}, "
        f"context {args.context_length}, billed {args.billing_interval}"
    )
