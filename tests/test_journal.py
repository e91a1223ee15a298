"""The journal of unfinished creates, on its own: concurrent changes, failures, tombstones, on
a directory and in an S3 bucket (moto's server over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pulumi_cortecs import InstanceArgs, JournalError
from pulumi_cortecs._journal import HANDED_SECONDS, IN_FLIGHT_SECONDS, STARTED, Entry, Journal
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._store import DirectoryStore, Store, Stored, open_store
from pulumi_cortecs.api._starts import StartIntent
from pulumi_cortecs.testing import ManualClock, S3Server

from tests import LLAMA_ID, MANAGED_INSTANCE_TYPE

OWNER = Owner.parse("urn:pulumi:dev::cortecs-instances::pulumi-python:dynamic:Resource::chat")
DOCUMENT = "cortecs-instances.dev.json"


def intent(context_length: int = 8000) -> StartIntent:
    return StartIntent(InstanceArgs(model_id=LLAMA_ID, context_length=context_length), frozenset())


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "directory":
        return DirectoryStore(tmp_path / "journal")
    return open_store(request.getfixturevalue("cortecs_s3_journal"))


class CountingStore:
    """A store that counts its writes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.location = store.location
        self.writes = 0
        self.where, self.get, self.delete, self.keys = (
            store.where,
            store.get,
            store.delete,
            store.keys,
        )

    def put(self, key: str, data: bytes, *, version: str | None) -> str | None:
        self.writes += 1
        return self.store.put(key, data, version=version)


def test_sixty_four_threads_changing_one_document_at_once_lose_nothing_and_share_writes(
    store: Store,
) -> None:
    counting = CountingStore(store)
    journal = Journal(counting)
    starts = [intent(1000 + n) for n in range(64)]

    def start(n: int) -> None:
        journal.begin(OWNER, starts[n])
        journal.settle(OWNER, starts[n].key, state=STARTED, instance_id=f"instance-{n}")

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(start, range(64)))
    entries = journal.entries(OWNER)
    assert sorted(e.instance_id or "" for e in entries) == sorted(
        f"instance-{n}" for n in range(64)
    )
    assert counting.writes < 2 * 64, "changes that waited for the document were written together"


def test_two_journals_writing_one_document_lose_no_change(store: Store) -> None:
    """Two processes (runners) each with their own queue: only compare-and-swap keeps them."""
    runners = [Journal(open_store(store.location)) for _ in range(2)]
    starts = [intent(1000 + n) for n in range(32)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: runners[n % 2].begin(OWNER, starts[n]), range(32)))
    assert sorted(e.key for e in runners[0].entries(OWNER)) == sorted(s.key for s in starts)


def test_a_storm_of_refused_writes_is_ridden_out(
    cortecs_s3: S3Server, cortecs_s3_journal: str
) -> None:
    journal = Journal(open_store(cortecs_s3_journal), sleep=lambda _: None)
    cortecs_s3.refuse_writes(25)
    journal.begin(OWNER, intent())
    assert cortecs_s3.refused == 25 and len(journal.entries(OWNER)) == 1
    cortecs_s3.refuse_writes(1000)
    with pytest.raises(JournalError, match=r"s3://.*cannot be written: other writers changed"):
        journal.begin(OWNER, intent(9000))
    assert len(journal.entries(OWNER)) == 1


def test_a_write_that_fails_reaches_every_waiting_change_and_the_next_one_is_tried_anew(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "journal"
    directory.write_text("a file where the journal directory belongs")
    journal = Journal(DirectoryStore(directory))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _error(lambda: journal.begin(OWNER, intent())), range(8)))
    assert all(isinstance(result, JournalError) for result in results)
    assert str(directory) in str(results[0]) and "nothing was started" in str(results[0])
    directory.unlink()
    journal.begin(OWNER, intent())  # nothing stuck: the document is written once it can be
    assert len(journal.entries(OWNER)) == 1


@pytest.mark.parametrize(
    "data", [b"\xff\xfe not UTF-8", b"{not json", b'{"format": 99}', b'{"format": 1}']
)
def test_a_document_that_cannot_be_read_is_an_error_naming_it_whatever_its_bytes(
    store: Store, data: bytes
) -> None:
    store.put(DOCUMENT, data, version=None)
    journal = Journal(store)
    for operation in (
        lambda: journal.entries(OWNER),
        lambda: journal.all_entries(),
        lambda: journal.begin(OWNER, intent()),
    ):
        with pytest.raises(JournalError, match="cannot be read") as raised:
            operation()
        assert store.where(DOCUMENT) in str(raised.value)
        assert "orphans --journal-" in str(raised.value) and store.location in str(raised.value)
    stored = store.get(DOCUMENT)
    assert stored is not None and stored.data == data, "never reset"


def test_records_handed_to_the_engine_stay_a_while_for_rival_starts_then_go(
    store: Store,
) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    journal = Journal(store, clock=clock)
    started = intent()
    journal.begin(OWNER, started)
    journal.settle(OWNER, started.key, state=STARTED, instance_id="instance-1")
    journal.hand_over(OWNER, "instance-1")
    [record] = journal.entries(OWNER)
    assert (record.state, record.pending) == ("handed", False)
    assert [e.owned() for _, e in journal.all_entries()] == [{"instance-1"}]
    clock.advance(HANDED_SECONDS + 1)
    journal.begin(OWNER, intent(9000))  # any later change prunes what has expired
    assert [e.instance_id for e in journal.entries(OWNER)] == [None]


def test_other_documents_beside_the_stacks_are_not_records(store: Store) -> None:
    store.put("leases/instance-1.json", b"{}", version=None)
    journal = Journal(store)
    journal.begin(OWNER, intent())
    assert [where for where, _ in journal.all_entries()] == [store.where(DOCUMENT)]


def test_the_document_is_plain_json_a_person_can_read(store: Store) -> None:
    Journal(store).begin(OWNER, intent())
    stored = store.get(DOCUMENT)
    assert stored is not None
    data = json.loads(stored.data)
    assert data["format"] == 1
    [start] = data["starts"]
    assert start["owner"] == str(OWNER) and start["state"] == "sending"
    assert start["args"] == {"model_id": LLAMA_ID, "context_length": 8000}


def _error(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except BaseException as error:
        return error
    return None


def test_a_start_sent_from_another_host_is_a_rival_until_it_settles_or_times_out(
    store: Store,
) -> None:
    """Whether another runner's process lives cannot be seen: its start counts as under way
    (an uncertain start takes nothing meanwhile) until it settles or IN_FLIGHT_SECONDS pass;
    what any record claims is never taken."""
    clock = ManualClock(start=1_800_000_000.0)
    journal = Journal(store, clock=clock)
    theirs, ours = intent(), intent()
    journal.begin(OWNER, theirs)
    journal.settle(OWNER, theirs.key, host="runner-2", pid=1)
    other_stack = Owner.parse(f"urn:pulumi:prod::{OWNER.project}::{MANAGED_INSTANCE_TYPE}::chat")
    ledger = journal.ledger(other_stack, held=set)
    assert ledger.in_flight(ours) == 1
    clock.advance(IN_FLIGHT_SECONDS + 1)
    assert ledger.in_flight(ours) == 0
    journal.settle(OWNER, theirs.key, state=STARTED, instance_id="instance-1")
    assert ledger.claimed(ours) == {"instance-1"}


def test_each_version_of_the_document_is_parsed_once_and_another_writers_is_seen(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixty-four creates read the document over and over: one parse per version, and never a
    stale one when another runner wrote since."""
    mine, theirs = Journal(store), Journal(open_store(store.location))
    parsed: list[str] = []
    parse = Journal._parse

    def counted(journal: Journal, key: str, stored: Stored) -> list[Entry]:
        parsed.append(key)
        return parse(journal, key, stored)

    monkeypatch.setattr(Journal, "_parse", counted)
    first, second = intent(1000), intent(2000)
    mine.begin(OWNER, first)
    for _ in range(3):
        assert [entry.key for entry in mine.entries(OWNER)] == [first.key]
    assert parsed == [], "what it wrote, it knows without parsing"
    theirs.begin(OWNER, second)
    for _ in range(3):
        assert {entry.key for entry in mine.entries(OWNER)} == {first.key, second.key}
    assert parsed == [DOCUMENT, DOCUMENT], "theirs read the first version, mine the second"
