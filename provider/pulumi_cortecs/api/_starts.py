"""Starting an instance, which bills a new one every time the request is sent.

A start is written ahead in a :class:`StartLedger` (what it asks for, and which instances
existed before it) before it is sent. When a send's outcome is unknown (the connection broke
after sending, a 5xx, an unreadable success), the start is reconciled, never resent blindly:
among the instances that appeared since the snapshot, started with the same resolved
arguments and owned by no other start the ledger knows, exactly one is taken, and only while
no other start that could have made it is still in flight. None means it did not happen (a
resend is safe); more than one, or a rival still in flight, means nobody can tell which is
whose: the start takes none and fails naming them (as crossplane-runtime refuses to guess
when an ``external-create-pending`` create's outcome is unknown). The API may lag behind its
own writes, so the instance list is checked again for a short while before deciding.

The ledger is also why no lock is held across the network: concurrent starts tell their
instances apart through it, not by waiting for each other.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from pulumi_cortecs._exceptions import ApiError, UncertainStartError
from pulumi_cortecs.api import _retry
from pulumi_cortecs.api._defaults import started_with
from pulumi_cortecs.api._models import Instance, InstanceArgs, ReadList

START_PATH = "/instances/start"
# How long an uncertain start's instance may take to appear in the list (the API may lag
# behind its own writes), how long to wait for rival starts to learn their outcome (one may be
# retrying a 429), and how often to look meanwhile.
SETTLE_SECONDS = 3.0
RIVALS_SECONDS = 60.0
SETTLE_POLL_SECONDS = 0.5

logger = logging.getLogger("pulumi_cortecs.api")


@dataclass(frozen=True)
class StartIntent:
    """A start about to be sent: its resolved arguments and the instances that existed before."""

    resolved: InstanceArgs
    snapshot: frozenset[str]
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


class StartLedger(Protocol):
    """Where starts are written ahead, so that an uncertain one can be told apart from others."""

    def begin(self, intent: StartIntent) -> None:
        """Record ``intent`` before it is sent; raise to keep it from being sent."""

    def started(self, intent: StartIntent, instance_id: str) -> None:
        """The start created ``instance_id`` (its answer said so, or reconciling proved it)."""

    def abandon(self, intent: StartIntent) -> None:
        """The start certainly created nothing."""

    def unresolved(self, intent: StartIntent, candidates: Collection[str]) -> None:
        """Nobody can tell whether the start created one of ``candidates``."""

    def claimed(self, intent: StartIntent) -> set[str]:
        """Instances that other starts created, or may have created."""

    def in_flight(self, intent: StartIntent) -> int:
        """Other starts with the same resolved arguments whose request is still under way."""


class InMemoryLedger:
    """The ledger of one client's own starts, for a program without a journal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sending: dict[str, StartIntent] = {}
        self._owned: dict[str, set[str]] = {}

    def begin(self, intent: StartIntent) -> None:
        with self._lock:
            self._sending[intent.key] = intent

    def started(self, intent: StartIntent, instance_id: str) -> None:
        self._settle(intent, {instance_id})

    def abandon(self, intent: StartIntent) -> None:
        self._settle(intent, set())

    def unresolved(self, intent: StartIntent, candidates: Collection[str]) -> None:
        self._settle(intent, set(candidates))

    def claimed(self, intent: StartIntent) -> set[str]:
        with self._lock:
            return {id_ for key, ids in self._owned.items() if key != intent.key for id_ in ids}

    def in_flight(self, intent: StartIntent) -> int:
        with self._lock:
            return sum(
                1
                for key, other in self._sending.items()
                if key != intent.key and other.resolved == intent.resolved
            )

    def _settle(self, intent: StartIntent, owned: set[str]) -> None:
        with self._lock:
            self._sending.pop(intent.key, None)
            if owned:
                self._owned[intent.key] = owned


@dataclass
class Starter:
    """One start, sent through the client's retries and reconciled when its outcome is unknown."""

    intent: StartIntent
    ledger: StartLedger
    send: Callable[[], Instance]
    list_instances: Callable[[], ReadList[Instance]]
    describe: Callable[[BaseException], str]
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    settle_seconds: float = SETTLE_SECONDS
    take_uncertain: bool = True
    """Whether an uncertain start may take its only candidate; ``False`` never infers."""
    _unresolved: bool = False

    @property
    def outcome_unknown(self) -> bool:
        """Whether a send may have created an instance that reconciling could not find (its
        own calls failed): the start is neither done nor certainly not done."""
        return self._unresolved

    def attempt(self) -> Instance:
        """One try, for the client's retry loop: never a send while an earlier one's outcome
        is unknown."""
        if self._unresolved:
            # The reconciliation after an unknown outcome failed (its own retries ran out):
            # it goes first, a resend after.
            found = self._reconcile()
            if found is not None:
                return found
        try:
            return self.send()
        except (ApiError, httpx.TransportError) as exc:
            if not _retry.is_ambiguous(exc):
                raise
            self._unresolved = True
            found = self._reconcile()
            outcome = (
                f"created {found.instance_id}, the only new instance with these arguments that "
                "no other start can have made; using it"
                if found
                else "created no instance; it is safe to send again"
            )
            args = self.intent.resolved
            logger.warning(
                "Start of %s failed (%s) and %s", args.model_id, self.describe(exc), outcome
            )
            if found is None:
                raise
            return found

    def _reconcile(self) -> Instance | None:
        """The instance this start created, ``None`` if it created none; raises
        :class:`UncertainStartError` when that cannot be told."""
        began = self.clock()
        while True:
            seen = reconcile(self.list_instances(), self.intent, self.ledger)
            if seen.taken is not None and self.take_uncertain:
                self._unresolved = False
                return seen.taken
            # Rivals that learn their outcome claim their instances; a lagging list shows ours.
            waited = self.clock() - began
            if seen.rivals > 0 and self.take_uncertain:
                waiting_helps = waited < RIVALS_SECONDS
            else:
                waiting_helps = not seen.found and waited < self.settle_seconds
            if not waiting_helps:
                break
            self.sleep(SETTLE_POLL_SECONDS)
        self._unresolved = False
        if seen.created_nothing:
            return None
        ids = seen.ids
        rivals, unreadable = seen.rivals, seen.unreadable
        self.ledger.unresolved(self.intent, ids)
        raise UncertainStartError(
            f"POST {START_PATH} had an unknown outcome, and it cannot be told whether it "
            f"created {_which(ids)}: "
            + (
                "taking an instance whose ownership is only inferred is turned off"
                if not self.take_uncertain
                else f"{rivals} other start(s) with the same arguments are still under way"
                if rivals
                else "the API lists an entry this client cannot read"
                if unreadable
                else "several new instances have the same arguments"
            )
            + ". None was taken. Check them (`cortecs-instances instances "
            f"{' '.join(ids)}`) and delete any that no stack owns",
            method="POST",
            path=START_PATH,
            candidates=ids,
        )


@dataclass(frozen=True)
class Reconciliation:
    """What the instance list says about a start whose outcome is unknown."""

    found: list[Instance]
    """New instances it may have created (see :func:`candidates`)."""
    unreadable: list[str]
    """New entries the client cannot read: any may be the one it created."""
    rivals: int
    """Other starts with the same arguments still under way: any may have created one."""

    @property
    def taken(self) -> Instance | None:
        """Its instance, when exactly one candidate exists and nothing else can have made it."""
        if len(self.found) == 1 and not self.unreadable and self.rivals == 0:
            return self.found[0]
        return None

    @property
    def created_nothing(self) -> bool:
        return not self.found and not self.unreadable

    @property
    def ids(self) -> list[str]:
        """Every instance it may have created, readable ones first."""
        return sorted(instance.instance_id for instance in self.found) + self.unreadable


def reconcile(
    listed: ReadList[Instance], intent: StartIntent, ledger: StartLedger
) -> Reconciliation:
    """The rule for a start whose outcome is unknown, in one place: the instances ``listed``
    shows that it, and no start the ``ledger`` knows (on any runner that shares it), may
    have created."""
    return Reconciliation(
        candidates(listed, intent, ledger.claimed(intent)),
        # An entry the client cannot read may be the one this start created.
        unreadable_newcomers(listed, intent),
        ledger.in_flight(intent),
    )


def candidates(
    instances: list[Instance], intent: StartIntent, claimed: Collection[str]
) -> list[Instance]:
    """The instances ``intent`` may have created: new since its snapshot, started with its
    resolved arguments, and not another start's."""
    return [
        instance
        for instance in instances
        if instance.instance_id not in intent.snapshot
        and instance.instance_id not in claimed
        and started_with(instance, intent.resolved)
    ]


def unreadable_newcomers(listed: ReadList[Instance], intent: StartIntent) -> list[str]:
    """The entries of ``listed`` that could not be read and were not there before ``intent``
    (by id where the entry has one)."""
    found = []
    for entry in listed.unreadable:
        item = entry.item
        instance_id = item.get("instance_id") if isinstance(item, dict) else None
        if instance_id not in intent.snapshot:
            found.append(str(instance_id or f"an unreadable entry (#{entry.index})"))
    return found


def _which(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else f"one of {', '.join(ids)}"
