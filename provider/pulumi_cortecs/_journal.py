"""The journal of unfinished creates: every start written ahead, so that no instance is billed
that neither a stack's state nor this journal knows about.

The engine records nothing for a create that did not finish, and the API has no names or tags
on instances: if the provider dies while an instance boots, only the journal knows the instance
is this resource's. Each start is recorded before its request is sent (its owner, the
resource's URN; its resolved arguments; the instances that existed before it), its instance id
as soon as the API answers, and the record is forgotten once the engine has the id. A create
that cannot write its record starts nothing.

The journal lives in a :class:`~pulumi_cortecs._store.Store`: a directory per user
(``cortecs:journalDir``, ``CORTECS_JOURNAL_DIR``, else ``$XDG_STATE_HOME/pulumi-cortecs/journal``)
or an S3 prefix every runner of a team sees (``cortecs:journalUrl``, ``CORTECS_JOURNAL_URL``,
which wins when both are set). One document per Pulumi project and stack,
``PROJECT.STACK.json`` at the top of the store (listing every stack's starts is one LIST and a
GET per stack); other documents (``leases/...``) live in folders beside them. Stacks that share
a store see each other's starts, which is how an uncertain start tells theirs from its own.

A document is changed by read, change, compare-and-swap write; a writer that lost the race to
another reads again and reapplies its changes. Changes that wait for a document are written
together (a group commit): sixty-four creates at once pay for a few writes, not for
sixty-four in a row, and each returns once its own is stored. A document that cannot be read
is an error naming it, never reset.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi_cortecs._command import command
from pulumi_cortecs._exceptions import JournalError
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._store import Store, Stored
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.api._starts import StartIntent

FORMAT = 1
SENDING, STARTED, UNRESOLVED, HANDED = "sending", "started", "unresolved", "handed"
# A start whose request is still under way after this long is a dead process's. A start sent
# from another host counts as under way until it settles or this long has passed: whether that
# process still lives cannot be seen from here.
IN_FLIGHT_SECONDS = 900.0
# How long a record the engine has taken over is kept: a rival start that is still checking
# what its own, uncertain request did must go on seeing this instance as someone's.
HANDED_SECONDS = 900.0
# How many times a change is reapplied when other writers keep changing its document first,
# and the longest pause between two tries (jittered, doubling from a hundredth of a second).
WRITE_ATTEMPTS = 40
WRITE_PAUSE_SECONDS = 1.0
_HOST = socket.gethostname()


@dataclass(frozen=True)
class Entry:
    """One start: written before it is sent, then what became of it."""

    key: str
    owner: str
    args: dict[str, Any]
    snapshot: list[str]
    recorded_at: float
    host: str
    pid: int
    state: str = SENDING
    instance_id: str | None = None
    candidates: list[str] = field(default_factory=list)

    @property
    def resolved(self) -> InstanceArgs:
        return InstanceArgs(**self.args)

    def owned(self) -> set[str]:
        """The instances this start created, or may have created."""
        return {self.instance_id} if self.instance_id else set(self.candidates)

    @property
    def pending(self) -> bool:
        """Whether the engine does not have its instance yet (it is left to this journal)."""
        return self.state != HANDED

    def in_flight(self, now: float) -> bool:
        """Whether its request may still be under way: a live process of this host is sending
        it, or a process of another host began it less than :data:`IN_FLIGHT_SECONDS` ago."""
        if self.state != SENDING or now - self.recorded_at > IN_FLIGHT_SECONDS:
            return False
        return self.host != _HOST or self.writer_alive

    @property
    def writer_alive(self) -> bool:
        """Whether the process that wrote it lives (on this host: elsewhere it cannot be seen).
        Its start is that process's business, whatever the record's state."""
        return self.host == _HOST and _alive(self.pid)

    def owned_by(self, owner: Owner) -> bool:
        return owner.may_claim(Owner.parse(self.owner))


class Journal:
    """The journal in a store; one document per project and stack."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self._sleep = sleep
        self._queue_lock = threading.Lock()
        self._queued: dict[str, _Batch] = {}  # changes waiting for their document, by key
        self._writing: set[str] = set()  # documents a thread is writing the queued changes of
        self._parsed: dict[str, tuple[str, tuple[Entry, ...]]] = {}  # by key: version, records

    def where(self, owner: Owner) -> str:
        """Where the owner's stack's records are, for messages."""
        return self.store.where(_key(owner))

    def entries(self, owner: Owner) -> list[Entry]:
        """The records of the owner's stack (all of its resources)."""
        return list(self._read(_key(owner))[1])

    def documents(self) -> list[str]:
        """The keys of the stacks' documents (leases and other documents live below them)."""
        return [key for key in self.store.keys("") if "/" not in key and key.endswith(".json")]

    def all_entries(self) -> list[tuple[str, Entry]]:
        """Every record in the store, with where it is: every stack that journals here."""
        found: list[tuple[str, Entry]] = []
        for key in self.documents():
            where = self.store.where(key)
            found += [(where, entry) for entry in self._read(key)[1]]
        return found

    def begin(self, owner: Owner, intent: StartIntent) -> None:
        """Record a start before it is sent; raise (and so keep it from being sent) when the
        record cannot be written."""
        entry = Entry(
            key=intent.key,
            owner=str(owner),
            args=intent.resolved.to_request(),
            snapshot=sorted(intent.snapshot),
            recorded_at=self.clock(),
            host=_HOST,
            pid=os.getpid(),
        )
        try:
            self._change(owner, lambda entries: entries.append(entry))
        except JournalError as error:
            raise nothing_started(error) from None

    def settle(self, owner: Owner, key: str, **changes: Any) -> None:
        """Record what became of the start ``key`` (its state, its instance)."""

        def settle(entries: list[Entry]) -> None:
            for index, entry in enumerate(entries):
                if entry.key == key:
                    entries[index] = replace(entry, **changes)

        self._change(owner, settle)

    def claim(self, owner: Owner, key: str) -> bool:
        """Make the record ``key`` the owner's own (its URN instead of an older owner name that
        several resources may share), unless another resource claimed it first."""
        claimed = False

        def claim(entries: list[Entry]) -> None:
            nonlocal claimed
            claimed = False  # reapplied when another writer came first: the last try counts
            for index, entry in enumerate(entries):
                if entry.key == key and entry.pending and entry.owned_by(owner):
                    entries[index] = replace(entry, owner=str(owner))
                    claimed = True

        self._change(owner, claim)
        return claimed

    def drop(self, owner: Owner, key: str) -> None:
        """Forget a start that created nothing."""

        def drop(entries: list[Entry]) -> None:
            entries[:] = [entry for entry in entries if entry.key != key]

        self._change(owner, drop)

    def hand_over(self, owner: Owner, instance_id: str) -> None:
        """The engine has the instance now (or it is gone): its records are no longer this
        journal's to keep, only to show to rival starts for a while (:data:`HANDED_SECONDS`)."""
        now = self.clock()

        def hand_over(entries: list[Entry]) -> None:
            for index, entry in enumerate(entries):
                if entry.instance_id == instance_id and entry.pending:
                    entries[index] = replace(entry, state=HANDED, recorded_at=now)

        self._change(owner, hand_over)

    def ledger(self, owner: Owner, held: Callable[[], Collection[str]]) -> JournalLedger:
        return JournalLedger(self, owner, held)

    def _change(self, owner: Owner, change: Callable[[list[Entry]], None]) -> None:
        """Apply ``change`` to the stack's records and return once it is stored.

        The change joins the document's queue; the first thread to find no one writing that
        document writes the queue, as often as it fills again, while the others wait for their
        batch.
        """
        key = _key(owner)
        with self._queue_lock:
            batch = self._queued.setdefault(key, _Batch())
            batch.changes.append(change)
            writes = key not in self._writing
            self._writing.add(key)
        if writes:
            self._write_queue(key)
        batch.written.wait()
        if batch.error is not None:
            raise batch.error

    def _write_queue(self, key: str) -> None:
        try:
            while True:
                with self._queue_lock:
                    batch = self._queued.pop(key, None)
                    if batch is None:
                        return
                try:
                    self._write_batch(key, batch)
                except Exception as error:
                    batch.error = error
                finally:
                    batch.written.set()  # whatever happened: every waiter learns it
        finally:
            with self._queue_lock:
                self._writing.discard(key)

    def _write_batch(self, key: str, batch: _Batch) -> None:
        """Read, change, write only if nobody wrote since the read; else again, from the read."""
        for attempt in range(WRITE_ATTEMPTS):
            stored, before = self._read(key)
            entries = list(before)
            for change in batch.changes:
                change(entries)
            expired = self.clock() - HANDED_SECONDS
            entries[:] = [e for e in entries if e.pending or e.recorded_at > expired]
            if tuple(entries) == before:
                return
            text = _encode(entries)
            version = self.store.put(key, text, version=stored.version if stored else None)
            if version is not None:
                self._remember(key, version, entries)
                return
            self._sleep(random.uniform(0, min(WRITE_PAUSE_SECONDS, 0.01 * 2**attempt)))
        raise JournalError(
            f"the journal {self.store.where(key)} cannot be written: other writers changed it "
            f"first {WRITE_ATTEMPTS} times in a row"
        )

    def _read(self, key: str) -> tuple[Stored | None, tuple[Entry, ...]]:
        """The document as stored, and its records: parsed once per version, however many
        creates read it (sixty-four at once read and rewrite it over and over)."""
        stored = self.store.get(key)
        if stored is None:
            return None, ()
        with self._queue_lock:
            parsed = self._parsed.get(key)
        if parsed is not None and parsed[0] == stored.version:
            return stored, parsed[1]
        entries = self._parse(key, stored)
        self._remember(key, stored.version, entries)
        return stored, tuple(entries)

    def _remember(self, key: str, version: str, entries: list[Entry]) -> None:
        with self._queue_lock:
            self._parsed[key] = (version, tuple(entries))

    def _parse(self, key: str, stored: Stored) -> list[Entry]:
        try:
            data = json.loads(stored.data)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"not a format {FORMAT} journal")
            return [Entry(**record) for record in data["starts"]]
        except (ValueError, KeyError, TypeError) as error:  # UnicodeDecodeError is a ValueError
            raise JournalError(
                f"the journal {self.store.where(key)} cannot be read ({error}). It may record "
                "instances that are billing: list them with "
                f"{command('orphans ' + orphans_option(self.store.location))}, then move the "
                "document aside"
            ) from None


@dataclass
class _Batch:
    """Changes written to a document together; ``written`` once they are stored (or failed)."""

    changes: list[Callable[[list[Entry]], None]] = field(default_factory=list)
    written: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


@dataclass
class JournalLedger:
    """The journal as the client's start ledger, for one owner's starts."""

    journal: Journal
    owner: Owner
    held: Callable[[], Collection[str]]  # instances this process knows a resource holds

    def begin(self, intent: StartIntent) -> None:
        self.journal.begin(self.owner, intent)

    def started(self, intent: StartIntent, instance_id: str) -> None:
        self.journal.settle(self.owner, intent.key, state=STARTED, instance_id=instance_id)

    def abandon(self, intent: StartIntent) -> None:
        self.journal.drop(self.owner, intent.key)

    def unresolved(self, intent: StartIntent, candidates: Collection[str]) -> None:
        self.journal.settle(self.owner, intent.key, state=UNRESOLVED, candidates=list(candidates))

    def claimed(self, intent: StartIntent) -> set[str]:
        """What every other record in the store (every stack, every runner) created or may
        have created, and what this process's resources hold."""
        others = [entry for _, entry in self.journal.all_entries() if entry.key != intent.key]
        return set(self.held()).union(*(entry.owned() for entry in others))

    def in_flight(self, intent: StartIntent) -> int:
        now = self.journal.clock()
        return sum(
            1
            for _, entry in self.journal.all_entries()
            if entry.key != intent.key
            and entry.in_flight(now)
            and entry.resolved == intent.resolved
        )


def _encode(entries: list[Entry]) -> bytes:
    """The document: one start a line, each by the C encoder (``indent`` and
    :func:`dataclasses.asdict` would take about seven times as long, on every write)."""
    lines = ",\n".join(json.dumps(vars(entry), sort_keys=True) for entry in entries)
    return f'{{"format": {FORMAT}, "starts": [\n{lines}\n]}}\n'.encode()


def nothing_started(error: JournalError) -> JournalError:
    """``error``, saying that the create it ended started nothing, and where else to journal."""
    return JournalError(
        f"{error}; nothing was started. The journal is cortecs:journalUrl (CORTECS_JOURNAL_URL), "
        "else cortecs:journalDir (CORTECS_JOURNAL_DIR), else the default directory"
    )


def orphans_option(location: str) -> str:
    """The ``cortecs-instances orphans`` option that reads the journal at ``location``."""
    option = "--journal-url" if location.startswith("s3://") else "--journal-dir"
    return f"{option} {location}"


def _key(owner: Owner) -> str:
    return f"{_file_safe(owner.project)}.{_file_safe(owner.stack)}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _file_safe(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    # Two names that differ only in unsafe characters still get two documents.
    return safe if safe == name else f"{safe}-{zlib.crc32(name.encode()):08x}"
