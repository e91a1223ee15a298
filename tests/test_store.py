"""The journal's document stores, a directory and an S3 bucket (moto's server over HTTP): the
same compare-and-swap contract, which loses no update."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from pulumi_cortecs._exceptions import JournalError
from pulumi_cortecs._s3 import S3Store
from pulumi_cortecs._store import DirectoryStore, open_store
from pulumi_cortecs.testing import S3Server

from tests import unused_port


@pytest.fixture(params=["directory", "s3"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store's documents are: a directory, or a prefix of a new bucket."""
    if request.param == "directory":
        return str(tmp_path / "journal")
    url: str = request.getfixturevalue("cortecs_s3_journal")
    return url


def test_put_creates_only_what_is_absent_and_replaces_only_the_version_read(
    location: str,
) -> None:
    store = open_store(location)
    assert store.get("a.json") is None
    first = store.put("a.json", b"1", version=None)
    assert first is not None
    assert store.put("a.json", b"other", version=None) is None  # someone created it first
    second = store.put("a.json", b"2", version=first)
    assert second is not None and second != first
    assert store.put("a.json", b"stale", version=first) is None  # written since it was read
    stored = store.get("a.json")
    assert stored is not None and (stored.data, stored.version) == (b"2", second)
    store.delete("a.json")
    assert store.put("a.json", b"gone", version=second) is None  # deleted since it was read


def test_keys_are_relative_and_sorted(location: str) -> None:
    store = open_store(location)
    for key in ("b.json", "leases/i-2.json", "leases/i-1.json"):
        store.put(key, b"{}", version=None)
    assert store.keys() == ["b.json", "leases/i-1.json", "leases/i-2.json"]
    assert store.keys("leases/") == ["leases/i-1.json", "leases/i-2.json"]
    store.delete("leases/i-1.json")
    store.delete("leases/i-1.json")  # already gone: nothing to do
    assert store.keys("leases/") == ["leases/i-2.json"]
    assert store.where("b.json") == f"{location}/b.json"


def test_a_directory_store_lists_no_locks_or_temporary_files(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    store.put("leases/i-2.json", b"{}", version=None)
    (tmp_path / "leases" / ".i-3.json.tmp").write_text("half")
    assert store.keys() == ["leases/i-2.json"]
    assert DirectoryStore(tmp_path / "missing").keys() == []


@pytest.mark.parametrize("key", ["", "../x.json", "a/../../x", ".hidden", "a//b"])
def test_keys_cannot_leave_the_store_or_name_private_files(location: str, key: str) -> None:
    with pytest.raises(ValueError, match="not a journal key"):
        open_store(location).put(key, b"", version=None)


def test_directory_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    store = DirectoryStore(tmp_path / "file")
    with pytest.raises(JournalError, match=str(tmp_path / "file" / "a.json")):
        store.put("a.json", b"", version=None)
    unreadable = DirectoryStore(tmp_path)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(JournalError, match=r"dir\.json cannot be read"):
        unreadable.get("dir.json")


def test_a_missing_bucket_is_an_error_naming_the_url(cortecs_s3_journal: str) -> None:
    store = open_store("s3://cortecs-no-such-bucket/journal")
    for operation in (
        lambda: store.get("a.json"),
        lambda: store.put("a.json", b"{}", version=None),
        lambda: store.keys(),
    ):
        with pytest.raises(JournalError, match=r"s3://cortecs-no-such-bucket/journal.*no bucket"):
            operation()


def test_an_unreachable_endpoint_is_an_error_naming_the_url(
    cortecs_s3_journal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = unused_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(
        JournalError,
        match=r"journal s3://.*/journal/a\.json cannot be written.*"
        r"cannot be reached",
    ) as raised:
        open_store(cortecs_s3_journal).put("a.json", b"{}", version=None)
    assert "cortecs-test-secret" not in str(raised.value)


def test_a_refusal_is_an_error_naming_the_url_and_no_credential(
    cortecs_s3: S3Server, cortecs_s3_journal: str
) -> None:
    cortecs_s3.denied = True
    with pytest.raises(JournalError, match=r"journal s3://.*a\.json cannot be read.*403") as raised:
        open_store(cortecs_s3_journal).get("a.json")
    assert "cortecs-test" not in str(raised.value).replace(cortecs_s3_journal, "")


def test_a_storm_of_refused_writes_loses_no_update(
    cortecs_s3: S3Server, cortecs_s3_journal: str
) -> None:
    cortecs_s3.refuse_writes(40)
    _add_one(cortecs_s3_journal, 0, 5)
    stored = open_store(cortecs_s3_journal).get("list.json")
    assert stored is not None and json.loads(stored.data) == [[0, n] for n in range(5)]
    assert cortecs_s3.refused == 40


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("s3://", "names no bucket"),
        ("gs://bucket/journal", "neither a directory nor an s3://BUCKET/PREFIX URL"),
    ],
)
def test_a_location_that_is_no_store_is_an_error(location: str, message: str) -> None:
    with pytest.raises(JournalError, match=message):
        open_store(location)


def test_no_location_is_the_default_directory_of_the_user(tmp_path: Path) -> None:
    store = open_store(None, {"HOME": str(tmp_path)})
    assert store.location == str(tmp_path / ".local" / "state" / "pulumi-cortecs" / "journal")
    assert isinstance(open_store("s3://bucket/a/b/"), S3Store)
    assert open_store("s3://bucket/a/b/").location == "s3://bucket/a/b"


def _add_one(location: str, worker: int, count: int) -> None:
    """Append ``count`` numbers to a shared list, each by read, change, conditional write."""
    store = open_store(location)
    for n in range(count):
        while True:
            stored = store.get("list.json")
            items = json.loads(stored.data) if stored else []
            data = json.dumps([*items, [worker, n]]).encode()
            if store.put("list.json", data, version=stored.version if stored else None):
                break


def test_writers_in_several_processes_lose_no_update(location: str) -> None:
    workers = [
        multiprocessing.get_context("spawn").Process(target=_add_one, args=(location, w, 25))
        for w in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    stored = open_store(location).get("list.json")
    assert stored is not None
    assert sorted(map(tuple, json.loads(stored.data))) == [
        (w, n) for w in range(4) for n in range(25)
    ]
