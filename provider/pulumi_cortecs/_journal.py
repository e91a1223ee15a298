"""The journal of unfinished creates: every start written ahead, so that no instance is billed
that neither a stack's state nor this journal knows about.

The engine records nothing for a create that did not finish, and the API has no names or tags
on instances: if the provider dies while an instance boots, only the journal knows the instance
is this resource's. Each start is recorded before its request is sent (its owner, its resolved
arguments, the instances that existed before it), its instance id as soon as the API answers,
and the record is forgotten once the engine has the id. A create that cannot write its record
starts nothing.

One file per Pulumi project and stack, in one directory per user (``cortecs:journalDir``,
``CORTECS_JOURNAL_DIR``, else ``$XDG_STATE_HOME/pulumi-cortecs/journal``): stacks on one
machine see each other's starts, which is how an uncertain start tells theirs from its own.
Files are changed under an exclusive lock by read, modify, write to a unique temporary file,
fsync and atomic rename; a file that cannot be read is an error naming it, never reset.
Changes that wait for a file are written together (a group commit): sixty-four creates at once
pay for a few fsyncs, not for sixty-four in a row, and each returns once its own is durable.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from pulumi_cortecs._exceptions import JournalError
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.api._starts import StartIntent

FORMAT = 1
SENDING, STARTED, UNRESOLVED, HANDED = "sending", "started", "unresolved", "handed"
# A start whose request is still under way after this long is a dead process's.
IN_FLIGHT_SECONDS = 900.0
# How long a record the engine has taken over is kept: a rival start that is still checking
# what its own, uncertain request did must go on seeing this instance as someone's.
HANDED_SECONDS = 900.0
_HOST = socket.gethostname()


@dataclass(frozen=True)
class Owner:
    """Who an instance belongs to: a resource of a Pulumi project's stack."""

    project: str
    stack: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Owner:
        """``project/stack/resource``, as ManagedInstance passes it (resource names may hold
        slashes; project and stack names do not)."""
        project, stack, resource = text.split("/", 2)
        return cls(project, stack, resource)

    def __str__(self) -> str:
        return f"{self.project}/{self.stack}/{self.resource}"


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
        """Whether its request may still be under way (a live process is sending it)."""
        if self.state != SENDING or now - self.recorded_at > IN_FLIGHT_SECONDS:
            return False
        return self.host != _HOST or _alive(self.pid)


class Journal:
    """The journal directory; one file per project and stack."""

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self._clock = clock
        self._queue_lock = threading.Lock()
        self._queued: dict[Path, _Batch] = {}  # changes waiting for their file, by file
        self._writing: set[Path] = set()  # files a thread is writing the queued changes of

    def path(self, project: str, stack: str) -> Path:
        return self.directory / f"{_file_safe(project)}.{_file_safe(stack)}.json"

    def entries(self, owner: Owner) -> list[Entry]:
        """The records of the owner's stack (all of its resources)."""
        path = self.path(owner.project, owner.stack)
        with _file_lock(path):
            return _read(path)

    def all_entries(self) -> list[tuple[Path, Entry]]:
        """Every record in the directory: every stack that journals here."""
        found: list[tuple[Path, Entry]] = []
        if not self.directory.is_dir():
            return found
        for path in sorted(self.directory.glob("*.json")):
            found += [(path, entry) for entry in _read(path)]
        return found

    def begin(self, owner: Owner, intent: StartIntent) -> None:
        entry = Entry(
            key=intent.key,
            owner=str(owner),
            args=intent.resolved.to_request(),
            snapshot=sorted(intent.snapshot),
            recorded_at=self._clock(),
            host=_HOST,
            pid=os.getpid(),
        )
        self._change(owner, lambda entries: entries.append(entry))

    def settle(self, owner: Owner, key: str, **changes: Any) -> None:
        """Record what became of the start ``key`` (its state, its instance)."""

        def settle(entries: list[Entry]) -> None:
            for index, entry in enumerate(entries):
                if entry.key == key:
                    entries[index] = replace(entry, **changes)

        self._change(owner, settle)

    def drop(self, owner: Owner, key: str) -> None:
        """Forget a start that created nothing."""

        def drop(entries: list[Entry]) -> None:
            entries[:] = [entry for entry in entries if entry.key != key]

        self._change(owner, drop)

    def hand_over(self, owner: Owner, instance_id: str) -> None:
        """The engine has the instance now (or it is gone): its records are no longer this
        journal's to keep, only to show to rival starts for a while (:data:`HANDED_SECONDS`)."""
        now = self._clock()

        def hand_over(entries: list[Entry]) -> None:
            for index, entry in enumerate(entries):
                if entry.instance_id == instance_id and entry.pending:
                    entries[index] = replace(entry, state=HANDED, recorded_at=now)

        self._change(owner, hand_over)

    def ledger(self, owner: Owner, held: Callable[[], Collection[str]]) -> JournalLedger:
        return JournalLedger(self, owner, held)

    def _change(self, owner: Owner, change: Callable[[list[Entry]], None]) -> None:
        """Apply ``change`` to the stack's records and return once it is on disk.

        The change joins the file's queue; the first thread to find no one writing that file
        writes the queue, as often as it fills again, while the others wait for their batch.
        """
        path = self.path(owner.project, owner.stack)
        with self._queue_lock:
            batch = self._queued.setdefault(path, _Batch())
            batch.changes.append(change)
            writes = path not in self._writing
            self._writing.add(path)
        if writes:
            self._write_queue(path)
        batch.written.wait()
        if batch.error is not None:
            raise batch.error

    def _write_queue(self, path: Path) -> None:
        try:
            while True:
                with self._queue_lock:
                    batch = self._queued.pop(path, None)
                    if batch is None:
                        return
                try:
                    self._write_batch(path, batch)
                except Exception as error:
                    batch.error = error
                finally:
                    batch.written.set()  # whatever happened: every waiter learns it
        finally:
            with self._queue_lock:
                self._writing.discard(path)

    def _write_batch(self, path: Path, batch: _Batch) -> None:
        with _file_lock(path):
            entries = _read(path)
            before = list(entries)
            for change in batch.changes:
                change(entries)
            expired = self._clock() - HANDED_SECONDS
            entries[:] = [e for e in entries if e.pending or e.recorded_at > expired]
            if entries != before:
                _write(path, entries)


@dataclass
class _Batch:
    """Changes written to a file together; ``written`` once they are on disk (or failed)."""

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
        others = [entry for _, entry in self.journal.all_entries() if entry.key != intent.key]
        return set(self.held()).union(*(entry.owned() for entry in others))

    def in_flight(self, intent: StartIntent) -> int:
        now = time.time()
        return sum(
            1
            for _, entry in self.journal.all_entries()
            if entry.key != intent.key
            and entry.in_flight(now)
            and entry.resolved == intent.resolved
        )


def _read(path: Path) -> list[Entry]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise _unreadable(path, error.strerror or str(error)) from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a format {FORMAT} journal")
        return [Entry(**record) for record in data["starts"]]
    except (ValueError, KeyError, TypeError) as error:
        raise _unreadable(path, str(error)) from None


def _write(path: Path, entries: list[Entry]) -> None:
    data = {"format": FORMAT, "starts": [asdict(entry) for entry in entries]}
    temporary: str | None = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(descriptor, "w") as file:
            json.dump(data, file, indent=2, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        temporary = None
        _fsync_directory(path.parent)
    except OSError as error:
        raise _unwritable(path, error) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` among processes (a lock file beside it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a+")  # noqa: SIM115
    except OSError as error:
        raise _unwritable(path, error) from None
    with handle:
        _lock(handle)
        try:
            yield
        finally:
            _unlock(handle)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

    def _fsync_directory(directory: Path) -> None:
        pass  # Windows cannot open a directory; its renames are durable once done

else:
    import fcntl

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _fsync_directory(directory: Path) -> None:
        # The rename is durable only once the directory entry is.
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


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
    # Two names that differ only in unsafe characters still get two files.
    return safe if safe == name else f"{safe}-{zlib.crc32(name.encode()):08x}"


def _unreadable(path: Path, why: str) -> JournalError:
    return JournalError(
        f"the journal {path} cannot be read ({why}). It may record instances that are billing: "
        f"list them with `cortecs-instances orphans --journal-dir {path.parent}`, then move "
        "the file aside"
    )


def _unwritable(path: Path, error: OSError) -> JournalError:
    return JournalError(
        f"the journal {path} cannot be written ({error.strerror or error}), so nothing was "
        "started. Set cortecs:journalDir (or CORTECS_JOURNAL_DIR) to a writable directory"
    )
