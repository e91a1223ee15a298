"""The CLI on spend: `instances` with what each costs, `reap` and `cost`, on the in-process
fake whose clock starts at the wall clock's time (leases are on the wall clock)."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pulumi_cortecs import Client, PriceInfo
from pulumi_cortecs._leases import DELETE, Lease, Leases
from pulumi_cortecs._store import DirectoryStore
from pulumi_cortecs.cli import _main as cli
from pulumi_cortecs.testing import FakeBackend, ManualClock

from tests import CREDENTIALS, LLAMA, LLAMA_ID

L4 = "NVIDIA_L4_1"
OWNER = "cortecs-instances/dev/chat"
PRICE = PriceInfo(price_per_hour=0.89, price_per_minute=0.0148, currency="EUR")


@pytest.fixture
def cortecs_clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", CREDENTIALS["client_id"])
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", CREDENTIALS["client_secret"])
    monkeypatch.delenv("CORTECS_JOURNAL_DIR", raising=False)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "journal"


def run(capsys: pytest.CaptureFixture[str], *argv: str, **kwargs: Any) -> tuple[int, str, str]:
    code = cli.main(list(argv), **kwargs)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def running(backend: FakeBackend, **args: Any) -> str:
    return backend.add_foreign_instance(
        {"model_id": LLAMA_ID, "hardware_type_id": L4, **args}
    ).instance_id


def lease(journal: Path, instance_id: str, *, expires_in: float, **changes: Any) -> Lease:
    with Client(**CREDENTIALS) as client:
        granted = Lease.of(
            client.get_instance(instance_id),
            owner=OWNER,
            expires_at=time.time() + expires_in,
            price=PRICE,
        )
    granted = dataclasses.replace(granted, **changes)
    Leases(DirectoryStore(journal)).grant(granted)
    return granted


def test_a_stopped_instance_costs_nothing_per_hour_and_keeps_its_hardware_price(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    per_hour = running(cortecs_mock, num_workers=2, billing_interval="per_hour")
    stopped = running(cortecs_mock, num_workers=2)
    cortecs_mock.stop_instance(stopped)
    cortecs_clock.advance(3601)

    def now() -> datetime:
        return datetime.fromtimestamp(cortecs_clock(), timezone.utc)

    code, out, _ = run(capsys, "instances", "--json", now=now)
    rows = {row["instance_id"]: row for row in json.loads(out)["instances"]}
    assert code == 0
    assert (rows[stopped]["estimated_cost_per_hour"], rows[stopped]["price_per_hour"]) == (
        0.0,
        0.89,
    )
    assert rows[stopped]["cost_per_hour_running"] == 1.78
    assert rows[per_hour]["estimated_cost_per_hour"] == rows[per_hour]["cost_per_hour_running"]
    # Running for an hour and a second, billed per hour: two started hours of two workers.
    assert rows[per_hour]["cost_since_start"] == 2 * 1.78


def test_reap_stops_what_ran_out_says_owner_and_cost_and_finds_nothing_after(
    cortecs_mock: FakeBackend, journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    due = running(cortecs_mock, billing_interval="per_hour")
    later = running(cortecs_mock)
    lease(journal, due, expires_in=-1)
    lease(journal, later, expires_in=3600)

    code, out, err = run(capsys, "reap", "--dry-run", "--json", "--journal-dir", str(journal))
    assert (code, json.loads(out)["reaped"][0]["outcome"]) == (0, "would stop")
    assert cortecs_mock.get_instance(due).stopped_at is None

    code, out, err = run(capsys, "reap", "--journal-dir", str(journal))
    assert code == 0
    assert f"{due} ({OWNER}) stopped, cost 0.89 EUR" in err
    assert out.split("\n")[1].split() == [due, OWNER, "stop", "stopped", "0.89", "EUR"]
    assert cortecs_mock.get_instance(due).stopped_at is not None
    assert cortecs_mock.get_instance(later).stopped_at is None

    code, out, err = run(capsys, "reap", "--journal-dir", str(journal))
    assert (code, out, err) == (0, "Nothing to reap: no lease has run out.\n", "")


def test_reap_fails_naming_what_it_could_not_do_after_doing_the_rest(
    cortecs_mock: FakeBackend, journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stopped, failing = running(cortecs_mock), running(cortecs_mock)
    lease(journal, stopped, expires_in=-1)
    lease(journal, failing, expires_in=-1, action=DELETE)
    # Reap acts on both at once: only a path of the one instance fails it alone.
    cortecs_mock.faults.fail_next(500, times=5, path=f"/instances/{failing}", method="DELETE")
    code, out, err = run(
        capsys, "reap", "--journal-dir", str(journal), client_factory=instant_client
    )
    assert code == 1 and stopped in out  # what it did is still reported
    assert f"error: reap could not act on {failing}: {failing}: could not be deleted" in err
    assert f"{stopped} ({OWNER}) stopped" in err
    assert cortecs_mock.instances[stopped].stopped_at is not None


def test_cost_sums_each_owners_instances(
    cortecs_mock: FakeBackend, journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = running(cortecs_mock), running(cortecs_mock, num_workers=2)
    running(cortecs_mock)  # no lease names its owner
    lease(journal, first, expires_in=60)
    lease(journal, second, expires_in=60)
    code, out, _ = run(capsys, "cost", "--json", "--journal-dir", str(journal))
    assert code == 0
    rows = {row["owner"]: row for row in json.loads(out)["costs"]}
    assert set(rows) == {OWNER, "-"}
    assert rows[OWNER] == {
        "owner": OWNER,
        "currency": "EUR",
        "instances": 2,
        "not_stopped": 2,
        "cost_per_hour": 0.89 * 3,
        "cost_since_start": round(0.89 * 3 / 60, 6),  # a started minute each
    }
    code, out, _ = run(capsys, "cost", "--journal-dir", str(journal))
    assert out.splitlines()[0].split() == [
        "OWNER",
        "INSTANCES",
        "NOT",
        "STOPPED",
        "COST/HOUR",
        "SINCE",
        "START",
    ]
    assert LLAMA not in out


def instant_client(settings: cli.ClientSettings) -> Client:
    """A client that does not sleep between retries, so failing calls fail fast."""
    return Client(
        api_base_url=settings.api_base_url,
        max_attempts=settings.max_attempts,
        sleep=lambda _: None,
    )
