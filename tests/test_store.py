"""The journal's document store on a directory: compare-and-swap that loses no update."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from pulumi_cortecs._exceptions import JournalError
from pulumi_cortecs._store import DirectoryStore


def test_put_creates_only_what_is_absent_and_replaces_only_the_version_read(
    tmp_path: Path,
) -> None:
    store = DirectoryStore(tmp_path / "journal")
    assert store.get("a.json") is None
    first = store.put("a.json", b"1", version=None)
    assert first is not None
    assert store.put("a.json", b"other", version=None) is None  # someone created it first
    second = store.put("a.json", b"2", version=first)
    assert second is not None and second != first
    assert store.put("a.json", b"stale", version=first) is None  # written since it was read
    stored = store.get("a.json")
    assert stored is not None and (stored.data, stored.version) == (b"2", second)


def test_keys_are_relative_sorted_and_leave_out_locks_and_temporary_files(
    tmp_path: Path,
) -> None:
    store = DirectoryStore(tmp_path)
    for key in ("b.json", "leases/i-2.json", "leases/i-1.json"):
        store.put(key, b"{}", version=None)
    (tmp_path / "leases" / ".i-3.json.tmp").write_text("half")
    assert store.keys() == ["b.json", "leases/i-1.json", "leases/i-2.json"]
    assert store.keys("leases/") == ["leases/i-1.json", "leases/i-2.json"]
    store.delete("leases/i-1.json")
    store.delete("leases/i-1.json")  # already gone: nothing to do
    assert store.keys("leases/") == ["leases/i-2.json"]
    assert DirectoryStore(tmp_path / "missing").keys() == []


@pytest.mark.parametrize("key", ["", "../x.json", "a/../../x", ".hidden", "a//b"])
def test_keys_cannot_leave_the_directory_or_name_private_files(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a journal key"):
        DirectoryStore(tmp_path).put(key, b"", version=None)


def test_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = DirectoryStore(tmp_path / "file")
    with pytest.raises(JournalError, match=str(tmp_path / "file" / "a.json")):
        store.put("a.json", b"", version=None)
    unreadable = DirectoryStore(tmp_path)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(JournalError, match=r"dir\.json cannot be read"):
        unreadable.get("dir.json")


def _add_one(directory: str, worker: int, count: int) -> None:
    """Append ``count`` numbers to a shared list, each by read, change, conditional write."""
    store = DirectoryStore(Path(directory))
    for n in range(count):
        while True:
            stored = store.get("list.json")
            items = json.loads(stored.data) if stored else []
            data = json.dumps([*items, [worker, n]]).encode()
            if store.put("list.json", data, version=stored.version if stored else None):
                break


def test_writers_in_several_processes_lose_no_update(tmp_path: Path) -> None:
    workers = [
        multiprocessing.get_context("spawn").Process(target=_add_one, args=(str(tmp_path), w, 25))
        for w in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    stored = DirectoryStore(tmp_path).get("list.json")
    assert stored is not None
    assert sorted(map(tuple, json.loads(stored.data))) == [
        (w, n) for w in range(4) for n in range(25)
    ]
