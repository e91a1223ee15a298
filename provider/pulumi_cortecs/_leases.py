"""Leases: spend that ends by itself.

cortecs.ai has no timer of its own, so an instance that must stop (``auto_stop_after``, a job of
``cortecs-instances run``) gets a *lease* in the journal's store, one document per instance
(``leases/<instance_id>.json``): who holds it, when it runs out, what then (stop, or delete),
and what the instance was when the lease was granted (its start time and resolved arguments)
and cost. ``cortecs-instances reap``, from a cron or a scheduled workflow on any machine that
sees the store, acts on every lease that has run out.

Two promises:

- **Once.** A reaper claims a lease by a conditional write before it acts: of two reapers at
  once, one wins the claim, the other sees it taken. A claim whose reaper died is taken over
  after :data:`CLAIM_SECONDS`.
- **A lease is not a licence.** A reaper acts only on an instance that is still the one the
  lease describes: the same id, start time and arguments. An instance restarted since, or an
  id the API gave to another instance, is left alone and reported, so a stale or forged lease
  cannot stop what it does not describe.

A lease is granted as soon as the start's answer names the instance, before it has a start
time: a *boot lease* (:meth:`Lease.booting`), so that a starter killed while the instance boots
(``kill -9``, a runner gone) still leaves a lease behind, not only a journal record. It
describes the instance by its id and arguments, and by :attr:`Lease.boot_by`, the latest its
first boot can end (the starter gives up waiting then): an instance whose start time is later
was restarted since, or its id is another instance's, and is left alone. Once the instance runs,
its starter renews the lease with the start time (:meth:`Lease.of`). What a boot lease cannot
tell apart: an instance stopped and restarted by hand, with the same arguments, before its
first boot's deadline; whoever restarts an instance through this provider renews its lease.

A lease holds no secret: ids, the owner, arguments, prices and times.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pulumi_cortecs._exceptions import CortecsError, JournalError
from pulumi_cortecs._pricing import cost_of
from pulumi_cortecs._schema import START_ARGS
from pulumi_cortecs._store import Store
from pulumi_cortecs.api._models import STOPPED as INSTANCE_STOPPED
from pulumi_cortecs.api._models import Instance, PriceInfo

if TYPE_CHECKING:
    from pulumi_cortecs.api._client import Client

FORMAT = 1
PREFIX = "leases/"
STOP, DELETE = "stop", "delete"
ACTIONS = (STOP, DELETE)
CLAIM_SECONDS = 900.0
"""A reaper's claim older than this is a dead reaper's: another may take the lease over."""
STOP_TIMEOUT_SECONDS = 600.0
REAP_CONCURRENCY = 16
"""Leases a reaper acts on at once by default: their waits share one instance list a second, so
this bounds the stops (and deletes) in flight, not the status requests."""
_GRANT_ATTEMPTS = 20

# What ``reap`` did about one lease.
STOPPED, DELETED = "stopped", "deleted"
WOULD_STOP, WOULD_DELETE = "would stop", "would delete"
CLEANED = "lease removed"
WOULD_CLEAN = "would remove lease"
LEFT_ALONE = "left alone"
CLAIMED_ELSEWHERE = "claimed by another reaper"
FAILED = "failed"
_PAST = {STOP: STOPPED, DELETE: DELETED}


@dataclass(frozen=True)
class Lease:
    """How long an instance may run, and what it must still be for a reaper to end it."""

    instance_id: str
    owner: str
    """Who started it: the resource (its URN) or the job."""
    expires_at: float
    """When it runs out (seconds since the epoch)."""
    started_at: str | None
    """When the instance last became running, as the API said when the lease was granted;
    ``None`` for a boot lease (granted while it boots: see :attr:`boot_by`)."""
    args: dict[str, Any]
    """Its start arguments as the API resolved them (defaults filled in)."""
    price_per_hour: float | None
    """The hardware's price per worker, when known."""
    currency: str | None
    action: str = STOP
    """``stop`` or ``delete``."""
    claimed_by: str | None = None
    claimed_at: float | None = None
    boot_by: float | None = None
    """A boot lease's bound (seconds since the epoch): the latest the instance's first boot
    ends, so a start time after it is a restart's (or another instance's)."""

    def __post_init__(self) -> None:
        # A lease is read from a store others can write: every field is checked, so that a
        # malformed one is reported as such and the reaper goes on to the next.
        for name, kinds in _FIELD_TYPES.items():
            value = getattr(self, name)
            if not isinstance(value, kinds) or isinstance(value, bool):
                raise ValueError(f"a lease's {name} cannot be {value!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"a lease's action must be one of {', '.join(ACTIONS)}")
        if self.started_at is None and self.boot_by is None:
            raise ValueError("a lease without a start time must say by when the boot ends")

    @classmethod
    def booting(
        cls,
        instance: Instance,
        *,
        owner: str,
        expires_at: float,
        boot_by: float,
        price: PriceInfo | None,
        action: str = STOP,
    ) -> Lease:
        """A boot lease on an instance just started, whose boot ends by ``boot_by``."""
        return cls._on(instance, owner, expires_at, price, action, started_at=None, boot_by=boot_by)

    @classmethod
    def of(
        cls,
        instance: Instance,
        *,
        owner: str,
        expires_at: float,
        price: PriceInfo | None,
        action: str = STOP,
    ) -> Lease:
        """A lease on a running instance, as it is now."""
        started_at = instance.instance_status.started_at
        if started_at is None:
            raise ValueError(f"{instance.instance_id} has no start time: it is not running")
        return cls._on(instance, owner, expires_at, price, action, started_at=_iso(started_at))

    @classmethod
    def _on(
        cls,
        instance: Instance,
        owner: str,
        expires_at: float,
        price: PriceInfo | None,
        action: str,
        *,
        started_at: str | None,
        boot_by: float | None = None,
    ) -> Lease:
        """What every lease says of its instance as the API shows it now."""
        return cls(
            instance_id=instance.instance_id,
            owner=owner,
            expires_at=expires_at,
            started_at=started_at,
            args=resolved_args(instance),
            price_per_hour=price.price_per_hour if price else None,
            currency=price.currency if price else None,
            action=action,
            boot_by=boot_by,
        )

    @property
    def workers(self) -> int | None:
        workers = self.args.get("num_workers")
        return workers if isinstance(workers, int) else None

    @property
    def billing_interval(self) -> str | None:
        interval = self.args.get("billing_interval")
        return interval if isinstance(interval, str) else None

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, timezone.utc)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def describes(self, instance: Instance) -> str | None:
        """``None`` when ``instance`` is the one this lease was granted on; otherwise how it
        differs (for the report)."""
        if instance.instance_id != self.instance_id:
            return f"it is {instance.instance_id}, not {self.instance_id}"
        started_at = instance.instance_status.started_at
        now_started = _iso(started_at) if started_at else None
        if self.boot_by is not None and self.started_at is None:
            if started_at is not None and _aware(started_at).timestamp() > self.boot_by:
                return (
                    f"it started at {now_started}, after the boot the lease was granted for "
                    f"ended ({_iso(datetime.fromtimestamp(self.boot_by, timezone.utc))}): it "
                    "was started again since, or its id is another instance's now"
                )
        elif now_started != self.started_at:
            return (
                f"it was started again since the lease was granted (started at {now_started}, "
                f"the lease says {self.started_at}), or its id is another instance's now"
            )
        args = resolved_args(instance)
        if args != self.args:
            changed = sorted(k for k in {*args, *self.args} if args.get(k) != self.args.get(k))
            return f"its arguments differ from the lease's ({', '.join(changed)})"
        return None

    def cost_until(self, now: float, instance: Instance) -> float | None:
        """What ``instance`` (the one described) has cost from its start to ``now``, when its
        price is known; nothing while it has not run."""
        started_at = instance.instance_status.started_at
        if self.price_per_hour is None or started_at is None:
            return None
        seconds = now - _aware(started_at).timestamp()
        return cost_of(seconds, self.price_per_hour, self.workers, self.billing_interval)

    def to_bytes(self) -> bytes:
        return json.dumps({"format": FORMAT, "lease": asdict(self)}, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Lease:
        document = json.loads(data.decode())
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a format {FORMAT} lease")
        return cls(**document["lease"])


def resolved_args(instance: Instance) -> dict[str, Any]:
    """The instance's start arguments, the API's default for each one it does not report."""
    reported = {prop.name: getattr(instance.instance_args, prop.name) for prop in START_ARGS}
    return {
        prop.name: prop.api_default if reported[prop.name] is None else reported[prop.name]
        for prop in START_ARGS
    }


@dataclass(frozen=True)
class Reaped:
    """What one ``reap`` did about one lease."""

    instance_id: str
    owner: str
    action: str
    outcome: str
    detail: str = ""
    cost: float | None = None
    """What the instance cost from its last start until it was stopped (or would be now)."""
    currency: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == FAILED


class Leases:
    """The leases in a store (the journal's). ``clock`` is the wall clock (seconds since the
    epoch): leases are compared across machines."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def now(self) -> float:
        return self.clock()

    def where(self, instance_id: str) -> str:
        """Where the instance's lease is, for messages."""
        return self.store.where(_key(instance_id))

    def get(self, instance_id: str) -> Lease | None:
        """The instance's lease, or ``None``."""
        stored = self.store.get(_key(instance_id))
        return None if stored is None else self._read(_key(instance_id), stored.data)

    def grant(self, lease: Lease) -> None:
        """Write ``lease``, replacing the instance's lease if it has one (a claim included:
        the instance's owner renewed it)."""
        key = _key(lease.instance_id)
        for _ in range(_GRANT_ATTEMPTS):
            current = self.store.get(key)
            version = current.version if current else None
            if self.store.put(key, lease.to_bytes(), version=version) is not None:
                return
        raise JournalError(
            f"the lease {self.store.where(key)} could not be written: it kept changing under "
            f"{_GRANT_ATTEMPTS} tries"
        )

    def revoke(self, instance_id: str) -> None:
        """Remove the instance's lease; nothing happens if it has none."""
        self.store.delete(_key(instance_id))

    def all(self) -> list[Lease]:
        """Every lease in the store; one that cannot be read is an error naming it."""
        found = []
        for key in self.store.keys(PREFIX):
            stored = self.store.get(key)
            if stored is not None:
                found.append(self._read(key, stored.data))
        return found

    def reap(
        self,
        client: Client,
        *,
        dry_run: bool = False,
        on_reaped: Callable[[Reaped], None] | None = None,
        at_once: int = REAP_CONCURRENCY,
    ) -> list[Reaped]:
        """Act on every lease that has run out: stop (or delete) its instance if it is still
        the one the lease describes, and remove the lease; remove the leases of instances
        already stopped or gone; leave the rest and say why. ``dry_run``: only say. The outcomes
        come back in the order of their leases' keys; each is also passed to ``on_reaped``, on
        the calling thread, as soon as it is done. ``at_once``: how many leases are acted on
        at the same time."""
        reaper = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        keys = self.store.keys(PREFIX)
        if not keys:
            return []
        # Side by side: each lease's stop is sent at once, and their waits share the client's
        # instance list, so sixty-four expired leases take about as long as one.
        with ThreadPoolExecutor(min(len(keys), at_once), "reap") as pool:
            futures = {
                pool.submit(self._reap_one, client, key, reaper, dry_run=dry_run): key
                for key in keys
            }
            outcomes: dict[str, Reaped] = {}
            for future in as_completed(futures):
                reaped = future.result()
                if reaped is not None:
                    outcomes[futures[future]] = reaped
                    if on_reaped is not None:
                        on_reaped(reaped)  # on this thread, as each is done
        return [outcomes[key] for key in keys if key in outcomes]

    def _reap_one(self, client: Client, key: str, reaper: str, *, dry_run: bool) -> Reaped | None:
        stored = self.store.get(key)
        if stored is None:
            return None  # removed since it was listed
        try:
            lease = self._read(key, stored.data)
        except JournalError as error:
            name = key.removeprefix(PREFIX).removesuffix(".json")
            return Reaped(name, "?", "?", FAILED, str(error))
        now = self.now()
        if not lease.expired(now):
            return None
        if lease.claimed_at is not None and now - lease.claimed_at < CLAIM_SECONDS:
            return _outcome(lease, CLAIMED_ELSEWHERE, f"by {lease.claimed_by}")
        try:
            instance = client.find_instance(lease.instance_id)
        except CortecsError as error:
            return _outcome(lease, FAILED, f"could not be looked up: {error}")
        if instance is None or instance.status == INSTANCE_STOPPED:
            why = "it is gone" if instance is None else "it is already stopped"
            if dry_run:
                return _outcome(lease, WOULD_CLEAN, why)
            self._remove(key, stored.version)
            return _outcome(lease, CLEANED, why)
        differs = lease.describes(instance)
        if differs is not None:
            return _outcome(
                lease,
                LEFT_ALONE,
                f"{differs}; the lease ({self.store.where(key)}) is kept for you to check",
            )
        cost = lease.cost_until(now, instance)
        if dry_run:
            return _outcome(lease, WOULD_STOP if lease.action == STOP else WOULD_DELETE, "", cost)
        claimed = replace(lease, claimed_by=reaper, claimed_at=now)
        version = self.store.put(key, claimed.to_bytes(), version=stored.version)
        if version is None:
            return _outcome(lease, CLAIMED_ELSEWHERE, "it changed while this reaper read it")
        try:
            _end(client, lease)
        except CortecsError as error:
            # Unclaimed again, so that the next run tries at once.
            self.store.put(key, lease.to_bytes(), version=version)
            return _outcome(lease, FAILED, f"could not be {_PAST[lease.action]}: {error}", cost)
        self._remove(key, version)
        return _outcome(lease, _PAST[lease.action], "", cost)

    def _remove(self, key: str, version: str) -> None:
        """Remove a lease only if it is still the version acted on (an ``up`` may have
        renewed it meanwhile)."""
        current = self.store.get(key)
        if current is not None and current.version == version:
            self.store.delete(key)

    def _read(self, key: str, data: bytes) -> Lease:
        try:
            lease = Lease.from_bytes(data)
            if _key(lease.instance_id) != key:
                # A copy of another instance's lease is no licence to end that one early.
                raise ValueError(f"it is the lease of {lease.instance_id}, not of its key")
            return lease
        except (ValueError, KeyError, TypeError) as error:
            raise JournalError(
                f"the lease {self.store.where(key)} cannot be read ({error}); move it aside "
                "once its instance is dealt with"
            ) from None


_NUMBER = (int, float)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "instance_id": (str,),
    "owner": (str,),
    "expires_at": _NUMBER,
    "started_at": (str, type(None)),
    "args": (dict,),
    "price_per_hour": (*_NUMBER, type(None)),
    "currency": (str, type(None)),
    "action": (str,),
    "claimed_by": (str, type(None)),
    "claimed_at": (*_NUMBER, type(None)),
    "boot_by": (*_NUMBER, type(None)),
}
"""What each of a lease's fields may hold, as JSON gives it back (a number may come as an int)."""


def _key(instance_id: str) -> str:
    return f"{PREFIX}{instance_id}.json"


def _end(client: Client, lease: Lease) -> None:
    """Stop the instance, and delete it if the lease says so."""
    stopped = client.stop(lease.instance_id)
    if stopped.status != INSTANCE_STOPPED:
        client.wait_until_stopped(lease.instance_id, timeout=STOP_TIMEOUT_SECONDS)
    if lease.action == DELETE:
        client.delete(lease.instance_id)


def _outcome(lease: Lease, outcome: str, detail: str, cost: float | None = None) -> Reaped:
    return Reaped(
        lease.instance_id, lease.owner, lease.action, outcome, detail, cost, lease.currency
    )


def _iso(moment: datetime) -> str:
    return _aware(moment).isoformat()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
