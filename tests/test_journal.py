"""The journal of unfinished creates, on its own: concurrent changes, failures, tombstones."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pulumi_cortecs import InstanceArgs, JournalError
from pulumi_cortecs._journal import HANDED_SECONDS, STARTED, Journal, Owner
from pulumi_cortecs.api._starts import StartIntent
from pulumi_cortecs.testing import ManualClock

from tests import LLAMA_ID

OWNER = Owner("cortecs-instances", "dev", "chat")


def intent(context_length: int = 8000) -> StartIntent:
    return StartIntent(InstanceArgs(model_id=LLAMA_ID, context_length=context_length), frozenset())


def test_sixty_four_threads_changing_one_file_at_once_lose_nothing_and_share_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pulumi_cortecs._journal as journal_module

    writes: list[int] = []
    write = journal_module._write
    monkeypatch.setattr(
        journal_module, "_write", lambda path, entries: (writes.append(1), write(path, entries))
    )
    journal = Journal(tmp_path)
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
    assert len(writes) < 2 * 64, "changes that waited for the file were written together"


def test_a_write_that_fails_reaches_every_waiting_change_and_the_next_one_is_tried_anew(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "journal"
    directory.write_text("a file where the journal directory belongs")
    journal = Journal(directory)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _error(lambda: journal.begin(OWNER, intent())), range(8)))
    assert all(isinstance(result, JournalError) for result in results)
    assert str(directory) in str(results[0]) and "nothing was started" in str(results[0])
    directory.unlink()
    journal.begin(OWNER, intent())  # nothing stuck: the file is written once it can be
    assert len(journal.entries(OWNER)) == 1


def test_records_handed_to_the_engine_stay_a_while_for_rival_starts_then_go(
    tmp_path: Path,
) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    journal = Journal(tmp_path, clock=clock)
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


def test_the_file_is_plain_json_a_person_can_read(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.begin(OWNER, intent())
    data = json.loads(journal.path("cortecs-instances", "dev").read_text())
    assert data["format"] == 1
    [start] = data["starts"]
    assert start["owner"] == "cortecs-instances/dev/chat" and start["state"] == "sending"
    assert start["args"] == {"model_id": LLAMA_ID, "context_length": 8000}


def _error(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except BaseException as error:
        return error
    return None
