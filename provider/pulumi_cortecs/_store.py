"""Where the journal keeps its documents: a directory on this machine (:class:`DirectoryStore`),
or an S3 bucket every runner sees (:class:`~pulumi_cortecs._s3.S3Store`); :func:`open_store`
picks one from a location. Both offer the same small contract, the one S3 offers with conditional
writes, so the journal and its leases are written once for both:

- :meth:`Store.get` returns a document with its *version* (an opaque tag: S3's ETag, a digest of
  the file's bytes here);
- :meth:`Store.put` writes only if the document is still at the version the writer read, or, with
  ``version=None``, only if there is none yet (S3's ``If-Match`` and ``If-None-Match: *``). A
  writer that lost the race gets ``None`` and reads again: no update is ever lost, on one
  machine or several;
- :meth:`Store.delete` and :meth:`Store.keys` do what they say.

Keys are relative, ``/``-separated paths (``leases/i-abc.json``). Failures to reach or use the
store raise :class:`~pulumi_cortecs.JournalError` naming the location, never a credential.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from pulumi_cortecs._exceptions import JournalError


@dataclass(frozen=True)
class Stored:
    """A document as read, with the version a conditional write must name to replace it."""

    data: bytes
    version: str


class Store(Protocol):
    """Documents under keys, written by compare-and-swap."""

    @property
    def location(self) -> str:
        """Where the documents are (a directory path, an ``s3://`` URL), for messages."""
        ...

    def where(self, key: str) -> str:
        """Where one document is, for messages."""
        ...

    def get(self, key: str) -> Stored | None:
        """The document, or ``None`` if there is none."""
        ...

    def put(self, key: str, data: bytes, *, version: str | None) -> str | None:
        """Write ``data`` if the document is still at ``version`` (``None``: if there is none
        yet). The new version, or ``None`` when another writer came first."""
        ...

    def delete(self, key: str) -> None:
        """Remove the document; nothing happens if there is none."""
        ...

    def keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted."""
        ...


class DirectoryStore:
    """Documents as files in a directory of this machine.

    A conditional write holds an exclusive lock (a ``.lock`` file beside the document) while it
    compares versions and writes a unique temporary file, fsyncs it, renames it over the
    document and fsyncs the directory: readers never see half a document, and a crash leaves
    either version.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def location(self) -> str:
        return str(self.directory)

    def where(self, key: str) -> str:
        return str(self._path(key))

    def get(self, key: str) -> Stored | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._error(path, "read", error) from None
        return Stored(data, _digest(data))

    def put(self, key: str, data: bytes, *, version: str | None) -> str | None:
        path = self._path(key)
        with self._locked(path):
            current = self.get(key)
            if (current.version if current else None) != version:
                return None
            self._write(path, data)
        return _digest(data)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._locked(path):
            try:
                path.unlink()
            except FileNotFoundError:
                return
            except OSError as error:
                raise self._error(path, "written", error) from None
            _fsync_directory(path.parent)

    def keys(self, prefix: str = "") -> list[str]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.rglob("*"):
            relative = path.relative_to(self.directory)
            if path.is_file() and not _private(relative) and str(relative).startswith(prefix):
                found.append(relative.as_posix())
        return sorted(found)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.directory.joinpath(*key.split("/"))

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """An exclusive lock on ``path`` among processes of this machine."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path.with_name(f".{path.name}.lock"), "a+")  # noqa: SIM115
        except OSError as error:
            raise self._error(path, "written", error) from None
        with handle:
            _lock(handle)
            try:
                yield
            finally:
                _unlock(handle)

    def _write(self, path: Path, data: bytes) -> None:
        temporary: str | None = None
        try:
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
            temporary = None
            _fsync_directory(path.parent)
        except OSError as error:
            raise self._error(path, "written", error) from None
        finally:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    @staticmethod
    def _error(path: Path, verb: str, error: OSError) -> JournalError:
        return JournalError(f"the journal {path} cannot be {verb} ({error.strerror or error})")


def check_key(key: str) -> None:
    """Refuse a key that would leave the store's directory (or prefix) or name a private file."""
    parts = key.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise ValueError(f"not a journal key: {key!r}")


def default_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """Per user, never per checkout: ``$XDG_STATE_HOME`` (``~/.local/state``), or
    ``%LOCALAPPDATA%`` on Windows."""
    if sys.platform == "win32" and environ.get("LOCALAPPDATA"):
        base = Path(environ["LOCALAPPDATA"])
    elif environ.get("XDG_STATE_HOME"):
        base = Path(environ["XDG_STATE_HOME"])
    else:
        base = Path(environ.get("HOME") or Path.home()) / ".local" / "state"
    return base / "pulumi-cortecs" / "journal"


def open_store(location: str | None, environ: Mapping[str, str] = os.environ) -> Store:
    """The store at ``location``: an ``s3://BUCKET/PREFIX`` URL (the endpoint and credentials
    from the AWS environment in ``environ``), a directory, or ``None`` for the default
    directory of this user (:func:`default_directory`)."""
    if location is None:
        return DirectoryStore(default_directory(environ))
    if location.startswith("s3://"):
        from pulumi_cortecs._s3 import S3Store

        try:
            return S3Store(location, environ)
        except ValueError as error:
            raise JournalError(f"the journal URL is not usable: {error}") from None
    if "://" in location:
        raise JournalError(
            f"the journal {location} is neither a directory nor an s3://BUCKET/PREFIX URL"
        )
    return DirectoryStore(Path(location).expanduser())


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _private(relative: Path) -> bool:
    """Lock files and temporary files (their names start with a dot)."""
    return any(part.startswith(".") for part in relative.parts)


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
