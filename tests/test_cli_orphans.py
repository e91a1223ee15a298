"""`orphans`: what a journal records as started and no stack holds, with what to do about it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pulumi_cortecs import Client, InstanceArgs
from pulumi_cortecs._journal import HANDED, STARTED, UNRESOLVED, Journal
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._store import DirectoryStore, open_store
from pulumi_cortecs.api._starts import StartIntent
from pulumi_cortecs.cli import _main as cli
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, FakeBackend

from tests import LLAMA_ID

OWNER = Owner("cortecs-instances", "dev", "chat")
RESOLVED = InstanceArgs(
    model_id=LLAMA_ID,
    hardware_type_id="NVIDIA_L4_1",
    context_length=16000,
    billing_interval="per_minute",
    num_workers=1,
)
RECORDED_AT = datetime(2027, 1, 15, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    monkeypatch.delenv("CORTECS_JOURNAL_DIR", raising=False)
    monkeypatch.delenv("CORTECS_JOURNAL_URL", raising=False)


def record(journal: Journal, *, state: str, instance_id: str | None = None, **more: object) -> None:
    intent = StartIntent(RESOLVED, frozenset())
    journal.begin(OWNER, intent)
    journal.settle(OWNER, intent.key, state=state, instance_id=instance_id, **more)


def start_instance() -> str:
    with Client() as client:
        return client.start(InstanceArgs(model_id=LLAMA_ID), resolved=RESOLVED).instance_id


def orphans(
    capsys: pytest.CaptureFixture[str], directory: Path, *flags: str, read: str | None = None
) -> str:
    """stdout of a successful `orphans` of ``directory``; stderr must say it read ``read`` (by
    default that directory, named by --journal-dir)."""
    now = RECORDED_AT + timedelta(minutes=42)
    code = cli.main(["orphans", "--journal-dir", str(directory), *flags], now=lambda: now)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    read = read or f"the journal directory {directory} (--journal-dir)"
    assert captured.err.startswith(f"read {read}: ")
    return captured.out


def failed_orphans(capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    """stderr of an `orphans` that must fail as a usage error, with nothing on stdout."""
    code = cli.main(["orphans", *flags])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    return captured.err


def test_each_record_is_listed_with_its_owner_age_price_and_how_to_clean_it(
    cortecs_mock: FakeBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = Journal(DirectoryStore(tmp_path), clock=RECORDED_AT.timestamp)
    running = start_instance()
    record(journal, state=STARTED, instance_id=running)
    record(journal, state=STARTED, instance_id="instance-999")  # deleted since
    record(journal, state=UNRESOLVED, candidates=[running])
    record(journal, state="sending")  # its process died before the answer came
    record(journal, state=HANDED, instance_id="instance-777")  # the stack has it: not listed

    rows = json.loads(orphans(capsys, tmp_path, "--json"))["orphans"]
    assert [(r["instance_id"], r["record"], r["status"]) for r in rows] == [
        (running, "started", "pending"),
        ("instance-999", "started", "gone"),
        (running, "unresolved", "pending"),
        (None, "sending", None),
    ]
    first = rows[0]
    assert first["owner"] == "cortecs-instances/dev/chat"
    assert first["age_seconds"] == 42 * 60
    assert (first["estimated_cost_per_hour"], first["currency"]) == (0.89, "EUR")
    assert first["journal"] == str(tmp_path / "cortecs-instances.dev.json")
    assert "`pulumi up` of stack dev adopts it while it declares chat" in first["clean"]
    assert f"`cortecs-instances delete {running}`" in first["clean"]
    assert "nothing is billed" in rows[1]["clean"]
    assert "may be another stack's" in rows[2]["clean"]
    assert "answer never came" in rows[3]["clean"]

    table = orphans(capsys, tmp_path)
    assert table.splitlines()[0].split() == [
        "INSTANCE",
        "ID",
        "OWNER",
        "RECORD",
        "STATUS",
        "AGE",
        "PRICE/HOUR",
    ]
    assert f"{running}: `pulumi up` of stack dev adopts it" in table


def test_an_empty_journal_directory_has_no_orphans_and_says_what_it_read(
    cortecs_mock: FakeBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["orphans", "--journal-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.startswith("No orphans")
    assert captured.err == (
        f"read the journal directory {tmp_path} (--journal-dir): no journal: no provider has "
        "written a start there\n"
    )
    journal = Journal(DirectoryStore(tmp_path))
    record(journal, state=HANDED, instance_id="instance-777")  # the stack has it
    code = cli.main(["orphans", "--journal-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert (code, captured.out.startswith("No orphans")) == (0, True)
    assert captured.err.endswith(": cortecs-instances.dev.json\n")


def test_a_missing_journal_directory_fails_naming_it_and_where_it_came_from(
    cortecs_mock: FakeBackend,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    typo = tmp_path / "jurnal"
    err = failed_orphans(capsys, "--journal-dir", str(typo))
    assert f"error: no journal directory at {typo} (--journal-dir)" in err
    assert "hint: name the directory the provider writes with --journal-dir or" in err

    monkeypatch.setenv("CORTECS_JOURNAL_DIR", str(typo))
    assert f"at {typo} (CORTECS_JOURNAL_DIR)" in failed_orphans(capsys)

    monkeypatch.delenv("CORTECS_JOURNAL_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "fresh-home-state"))
    default = tmp_path / "fresh-home-state" / "pulumi-cortecs" / "journal"
    assert f"at {default} (the default)" in failed_orphans(capsys)


def test_a_journal_directory_that_is_a_file_fails_naming_it(
    cortecs_mock: FakeBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "journal.json"
    a_file.write_text("{}")
    err = failed_orphans(capsys, "--journal-dir", str(a_file))
    assert f"error: the journal directory {a_file} (--journal-dir) is not a directory" in err


@pytest.mark.parametrize("given", ["--journal-url", "CORTECS_JOURNAL_URL"])
def test_a_journal_in_s3_is_read_from_its_url_which_wins_over_a_directory(
    cortecs_mock: FakeBackend,
    cortecs_s3_journal: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    given: str,
) -> None:
    running = start_instance()
    record(Journal(open_store(cortecs_s3_journal)), state=STARTED, instance_id=running)
    record(Journal(DirectoryStore(tmp_path)), state=STARTED, instance_id="instance-999")
    if given == "--journal-url":
        flags = ["--journal-url", cortecs_s3_journal]
    else:
        monkeypatch.setenv("CORTECS_JOURNAL_URL", cortecs_s3_journal)
        flags = []
    read = f"the journal {cortecs_s3_journal} ({given})"
    [row] = json.loads(orphans(capsys, tmp_path, "--json", *flags, read=read))["orphans"]
    assert row["instance_id"] == running
    assert row["journal"] == f"{cortecs_s3_journal}/cortecs-instances.dev.json"
