"""Which instance belongs to which resource.

The API has no names, tags or idempotency keys on instances, so nothing about an instance says
whose it is. A resource owns an instance only when it started it: every start is written ahead
in the journal under the resource's owner (its URN), and a create adopts an
instance only when this resource's own record proves that it started it (an ``up`` that was
interrupted before the engine recorded the id). Never by status, never by arguments alone.
"""

from __future__ import annotations

import os
import threading
import uuid

import pulumi

from pulumi_cortecs._exceptions import JournalError, ProvisioningError
from pulumi_cortecs._journal import STARTED, UNRESOLVED, Entry, nothing_started
from pulumi_cortecs._owner import Owner
from pulumi_cortecs.api._defaults import started_with
from pulumi_cortecs.api._models import Instance, InstanceArgs
from pulumi_cortecs.api._starts import StartIntent, reconcile
from pulumi_cortecs.resource._context import ProviderContext


def owner_of(owner: str | None) -> Owner:
    """The owner a program passed; a resource declared without one (not by ManagedInstance)
    gets a name of its own, so it never adopts anything."""
    if owner:
        return Owner.parse(owner)
    project = os.environ.get("PULUMI_PROJECT", "unknown")
    return Owner(project, "unknown", f"unnamed-{uuid.uuid4().hex[:12]}")


class Ownership:
    """The instances of one provider process's resources, and how a new resource gets one."""

    def __init__(self, context: ProviderContext) -> None:
        self._context = context
        self._lock = threading.Lock()
        self._held: set[str] = set()

    def hold(self, instance_id: str) -> None:
        """A resource of this deployment holds the instance (seen in diff, read or update)."""
        with self._lock:
            self._held.add(instance_id)

    def held(self) -> set[str]:
        with self._lock:
            return set(self._held)

    def obtain(
        self, owner: Owner, args: InstanceArgs, resolved: InstanceArgs, *, adopt: bool
    ) -> Instance:
        """An instance for a new resource: the one an interrupted ``up`` of this very resource
        started, else a new one, written ahead in the journal. ``adopt=False`` infers nothing:
        no record is adopted, and a start whose answer was lost fails rather than take the
        only new instance (which a stack on another machine may have started)."""
        context = self._context
        try:
            instance = self._left_behind(owner, resolved) if adopt else None
        except JournalError as error:
            raise nothing_started(error) from None
        if instance is None:
            ledger = context.journal.ledger(owner, self.held)
            instance = context.client.start(
                args, resolved=resolved, ledger=ledger, take_uncertain=adopt
            )
            # The first thing the log says about it: a run whose journal is lost still has this.
            pulumi.log.info(f"started {instance.instance_id} for {owner}: {describe(resolved)}")
        self.hold(instance.instance_id)
        return instance

    def release(self, owner: Owner, instance_id: str) -> None:
        """The engine has the instance now (or it is gone): no record keeps it any more."""
        self._context.journal.hand_over(owner, instance_id)

    def _left_behind(self, owner: Owner, resolved: InstanceArgs) -> Instance | None:
        """The instance that an earlier, interrupted ``up`` of this resource started with these
        arguments, as this resource's journal records show. A record whose writer still runs
        (on this host) is that process's, whatever it says: it may be booting it for another
        resource. One written on another host is that of a run that ended (killed with its
        runner): Pulumi's stack lock lets no two runs of this resource's stack overlap."""
        journal = self._context.journal
        for entry in journal.entries(owner):
            if not entry.pending or entry.writer_alive or not entry.owned_by(owner):
                continue
            instance = self._instance_of(owner, entry)
            if instance is None:
                continue
            if not started_with(instance, resolved):
                pulumi.log.warn(
                    f"{instance.instance_id} was started by an earlier `pulumi up` of {owner} "
                    "with other arguments and never recorded by the stack; it is not adopted. "
                    "`cortecs-instances orphans` shows it and how to stop it"
                )
            elif journal.claim(owner, entry.key):  # else a resource of the same name took it
                pulumi.log.info(
                    f"adopted {instance.instance_id} ({instance.status}): an earlier `pulumi "
                    f"up` of {owner} started it but the stack never recorded it "
                    f"({journal.where(owner)})"
                )
                return instance
        return None

    def _instance_of(self, owner: Owner, entry: Entry) -> Instance | None:
        """The instance a record's start created, ``None`` if it created none (or it is gone);
        a start whose answer never arrived is reconciled from what the record kept."""
        journal = self._context.journal
        if entry.state == STARTED and entry.instance_id:
            instance = self._context.client.find_instance(entry.instance_id)
            if instance is None:
                journal.drop(owner, entry.key)  # deleted since: nothing is billed
            return instance
        intent = StartIntent(entry.resolved, frozenset(entry.snapshot), key=entry.key)
        listed = self._context.client.list_instances()
        seen = reconcile(listed, intent, journal.ledger(owner, self.held))
        if seen.created_nothing:
            journal.drop(owner, entry.key)  # the interrupted start created nothing
            return None
        if seen.taken is not None:
            journal.settle(owner, entry.key, state=STARTED, instance_id=seen.taken.instance_id)
            return seen.taken
        journal.settle(owner, entry.key, state=UNRESOLVED, candidates=seen.ids)
        raise ProvisioningError(
            f"an earlier `pulumi up` of {owner} sent a start whose answer never arrived, and it "
            f"cannot be told which of {', '.join(seen.ids)} it created, if any: none is "
            "adopted. `cortecs-instances orphans` lists them; delete the ones no stack owns, "
            f"then run `pulumi up` again (the record is in {journal.where(owner)})"
        )


def describe(args: InstanceArgs) -> str:
    return (
        f"{args.hf_name} on {args.hardware_type_id} x {args.num_workers}, "
        f"context {args.context_length}, billed {args.billing_interval}"
    )
