"""Leases on the injected clock: durations, what an instance costs per billing interval, and
what `reap` does with each lease (against the in-process fake)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi_cortecs import Client, Instance, PriceInfo
from pulumi_cortecs._leases import (
    CLAIMED_ELSEWHERE,
    CLEANED,
    DELETE,
    DELETED,
    FAILED,
    LEFT_ALONE,
    STOPPED,
    WOULD_CLEAN,
    WOULD_STOP,
    Lease,
    Leases,
    Reaped,
)
from pulumi_cortecs._pricing import billed_seconds, cost_of, cost_per_hour
from pulumi_cortecs._rules import Duration, duration_seconds
from pulumi_cortecs._store import DirectoryStore
from pulumi_cortecs.testing import FakeBackend, ManualClock

from tests import CREDENTIALS, LLAMA_ID

OWNER = "cortecs-instances/dev/chat"
L4 = "NVIDIA_L4_1"
CLIENT_ARGS = dict(CREDENTIALS)
L4_PRICE = PriceInfo(price_per_hour=0.89, price_per_minute=0.0148, currency="EUR")


# -- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kept", "seconds"),
    [
        ("90s", "90s", 90),
        ("45m", "45m", 2700),
        (" 8h ", "8h", 28800),
        ("2d", "2d", 172800),
        (5400, "5400s", 5400),
        (5400.0, "5400s", 5400),  # how the engine sends a number
        ("365d", "365d", 365 * 86400),
    ],
)
def test_a_duration_is_kept_as_written_and_read_in_seconds(
    value: object, kept: str, seconds: int
) -> None:
    assert Duration().parse(value) == kept
    assert duration_seconds(kept) == seconds


@pytest.mark.parametrize(
    "value", ["0s", "-1h", "1 fortnight", "8", "1.5h", "", 0, -60, 1.5, True, "366d", 1e308]
)
def test_a_bad_duration_says_which_forms_are_allowed(value: object) -> None:
    with pytest.raises(ValueError, match=r'must be a duration such as "90s", "45m", "8h" or "2d"'):
        Duration().parse(value)


# -- pricing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "interval", "billed"),
    [
        (0, "per_minute", 0),
        (1, "per_minute", 60),
        (60, "per_minute", 60),
        (61, "per_minute", 120),
        (1, "per_hour", 3600),
        (3600, "per_hour", 3600),
        (3601, "per_hour", 7200),
        (61, None, 120),  # the API's default: per minute
        (-5, "per_hour", 0),  # a clock behind the API's: nothing yet
    ],
)
def test_every_started_billing_interval_is_counted(
    seconds: float, interval: str | None, billed: int
) -> None:
    assert billed_seconds(seconds, interval) == billed


def test_cost_is_price_times_workers_times_billed_hours_rounded_once() -> None:
    assert cost_per_hour(0.89, 3) == 2.67
    assert cost_per_hour(0.89, None) == 0.89
    assert cost_of(61, 0.89, 2, "per_minute") == round(0.89 * 2 * 2 / 60, 6)
    assert cost_of(61, 0.89, 2, "per_hour") == 1.78
    assert cost_of(3 * 3600, 1.0 / 3, 1, "per_hour") == 1.0  # no rounding per hour


# -- leases ----------------------------------------------------------------------------------


@pytest.fixture
def client(cortecs_mock: FakeBackend, cortecs_clock: ManualClock) -> Iterator[Client]:
    with Client(**CLIENT_ARGS, clock=cortecs_clock, sleep=cortecs_clock.sleep) as client:
        yield client


@pytest.fixture
def leases(tmp_path: Path, cortecs_clock: ManualClock) -> Leases:
    return Leases(DirectoryStore(tmp_path / "journal"), clock=cortecs_clock)


def running_instance(backend: FakeBackend, clock: ManualClock, **args: object) -> str:
    instance = backend.add_foreign_instance(
        {"model_id": LLAMA_ID, "hardware_type_id": L4, "num_workers": 2, **args}
    )
    clock.advance(1)
    return instance.instance_id


def lease_on(client: Client, instance_id: str, leases: Leases, seconds: float = 60) -> Lease:
    lease = Lease.of(
        client.get_instance(instance_id),
        owner=OWNER,
        expires_at=leases.now() + seconds,
        price=L4_PRICE,
    )
    leases.grant(lease)
    return lease


def status(backend: FakeBackend, instance_id: str) -> str:
    return str(backend.get_instance(instance_id).status(backend.clock()))


def test_a_lease_records_what_the_instance_is_and_costs_and_no_secret(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    instance_id = running_instance(cortecs_mock, cortecs_clock)
    lease = lease_on(client, instance_id, leases)
    assert leases.get(instance_id) == lease
    assert leases.all() == [lease]
    assert lease.args == {
        "model_id": LLAMA_ID,
        "hardware_type_id": L4,
        "context_length": None,  # the fake does not report it, and the API has no fixed default
        "billing_interval": "per_minute",
        "num_workers": 2,
    }
    assert (lease.workers, lease.billing_interval, lease.currency) == (2, "per_minute", "EUR")
    document = Path(leases.where(instance_id)).read_text()
    assert "secret" not in document.lower() and "token" not in document.lower()
    # Ninety seconds after it started, two started minutes of two workers are billed.
    cortecs_clock.advance(89)
    instance = client.get_instance(instance_id)
    assert lease.cost_until(leases.now(), instance) == round(0.89 * 2 * 2 / 60, 6)
    leases.revoke(instance_id)
    assert leases.get(instance_id) is None and leases.all() == []


def test_reap_acts_only_once_the_lease_has_run_out_and_removes_it(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    instance_id = running_instance(cortecs_mock, cortecs_clock)
    lease_on(client, instance_id, leases, seconds=60)
    assert leases.reap(client) == []
    cortecs_clock.advance(60)

    (dry,) = leases.reap(client, dry_run=True)
    assert (dry.outcome, status(cortecs_mock, instance_id)) == (WOULD_STOP, "running")

    (reaped,) = leases.reap(client)
    assert (reaped.instance_id, reaped.owner, reaped.outcome) == (instance_id, OWNER, STOPPED)
    assert (reaped.cost, reaped.currency) == (round(0.89 * 2 * 2 / 60, 6), "EUR")
    assert status(cortecs_mock, instance_id) == "stopped"
    assert leases.all() == []
    assert leases.reap(client) == []


def test_a_delete_lease_deletes_its_instance(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    instance_id = running_instance(cortecs_mock, cortecs_clock)
    lease = lease_on(client, instance_id, leases)
    leases.grant(dataclasses.replace(lease, action=DELETE))
    cortecs_clock.advance(60)
    assert [r.outcome for r in leases.reap(client)] == [DELETED]
    assert instance_id not in cortecs_mock.instances


def test_leases_of_instances_already_stopped_or_gone_are_removed(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    stopped = running_instance(cortecs_mock, cortecs_clock)
    gone = running_instance(cortecs_mock, cortecs_clock)
    lease_on(client, stopped, leases)
    lease_on(client, gone, leases)
    cortecs_mock.stop_instance(stopped)
    cortecs_mock.delete_instance(gone)
    cortecs_clock.advance(60)
    assert {(r.instance_id, r.outcome) for r in leases.reap(client, dry_run=True)} == {
        (stopped, WOULD_CLEAN),
        (gone, WOULD_CLEAN),
    }
    assert len(leases.all()) == 2
    reaped = {r.instance_id: r for r in leases.reap(client)}
    assert {(r.outcome, r.detail) for r in reaped.values()} == {
        (CLEANED, "it is already stopped"),
        (CLEANED, "it is gone"),
    }
    assert leases.all() == []


def test_a_lease_on_an_instance_restarted_since_is_not_a_licence(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    instance_id = running_instance(cortecs_mock, cortecs_clock)
    lease_on(client, instance_id, leases)
    # Restarted outside the lease's knowledge: it is another run of the instance.
    cortecs_mock.stop_instance(instance_id)
    client.restart(instance_id)
    cortecs_clock.advance(600)
    (reaped,) = leases.reap(client)
    assert reaped.outcome == LEFT_ALONE
    assert "started again since the lease was granted" in reaped.detail
    assert status(cortecs_mock, instance_id) == "running"
    assert leases.get(instance_id) is not None  # kept, and reported again next time


def test_a_lease_whose_id_was_reused_or_whose_arguments_differ_is_left_alone(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    reused = running_instance(cortecs_mock, cortecs_clock)
    lease_on(client, reused, leases)
    cortecs_mock.delete_instance(reused)
    # The API gives the id to another instance, started with other arguments.
    cortecs_clock.advance(30)
    other = cortecs_mock.add_foreign_instance({"model_id": LLAMA_ID, "num_workers": 1})
    del cortecs_mock.instances[other.instance_id]
    other.instance_id = reused
    cortecs_mock.instances[reused] = other
    # A forged lease: the right id and start time, other arguments.
    forged_on = running_instance(cortecs_mock, cortecs_clock)
    forged = lease_on(client, forged_on, leases)
    leases.grant(dataclasses.replace(forged, args={**forged.args, "num_workers": 8}))
    cortecs_clock.advance(60)

    reaped = {r.instance_id: r for r in leases.reap(client)}
    assert {r.outcome for r in reaped.values()} == {LEFT_ALONE}
    assert "started again since" in reaped[reused].detail
    assert "its arguments differ from the lease's (num_workers)" in reaped[forged_on].detail
    assert status(cortecs_mock, reused) == status(cortecs_mock, forged_on) == "running"


def boot_lease_on(
    client: Client, instance_id: str, leases: Leases, boot_seconds: float, seconds: float
) -> Lease:
    lease = Lease.booting(
        client.get_instance(instance_id),
        owner=OWNER,
        expires_at=leases.now() + seconds,
        boot_by=leases.now() + boot_seconds,
        price=L4_PRICE,
        action=DELETE,
    )
    leases.grant(lease)
    return lease


def booting_instance(backend: FakeBackend) -> str:
    """An instance just started (pending: the fake boots it in 5 s)."""
    args = {"model_id": LLAMA_ID, "hardware_type_id": L4, "num_workers": 2}
    return backend.add_foreign_instance(args, status="pending").instance_id


def test_a_boot_lease_ends_its_instance_whether_its_boot_ended_or_not(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    booted, still_booting = booting_instance(cortecs_mock), booting_instance(cortecs_mock)
    boot_lease_on(client, booted, leases, boot_seconds=60, seconds=60)
    boot_lease_on(client, still_booting, leases, boot_seconds=1, seconds=1)
    cortecs_clock.advance(1)
    (early,) = leases.reap(client)  # the one still booting, its lease run out
    assert (early.instance_id, early.outcome, early.cost) == (still_booting, DELETED, None)
    cortecs_clock.advance(59)
    (reaped,) = leases.reap(client)
    assert (reaped.instance_id, reaped.outcome) == (booted, DELETED)
    # What it cost from the start time the API reported (55 s ago): one started minute.
    assert reaped.cost == round(0.89 * 2 / 60, 6)
    assert cortecs_mock.instances == {} and leases.all() == []


def test_a_boot_lease_is_no_licence_for_a_restart_after_its_boot_or_other_arguments(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    restarted, other_args = booting_instance(cortecs_mock), booting_instance(cortecs_mock)
    boot_lease_on(client, restarted, leases, boot_seconds=30, seconds=60)
    forged = boot_lease_on(client, other_args, leases, boot_seconds=30, seconds=60)
    leases.grant(dataclasses.replace(forged, args={**forged.args, "num_workers": 8}))
    cortecs_clock.advance(30)
    # Booted, then stopped and restarted by hand after the boot the lease was granted for.
    cortecs_mock.stop_instance(restarted)
    client.restart(restarted)
    cortecs_clock.advance(30)
    reaped = {r.instance_id: r for r in leases.reap(client)}
    assert {r.outcome for r in reaped.values()} == {LEFT_ALONE}
    assert "after the boot the lease was granted for ended" in reaped[restarted].detail
    assert "its arguments differ from the lease's (num_workers)" in reaped[other_args].detail
    assert status(cortecs_mock, restarted) == status(cortecs_mock, other_args) == "running"
    assert len(leases.all()) == 2


def test_a_lease_without_a_start_time_or_a_boot_deadline_is_refused(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    instance_id = booting_instance(cortecs_mock)
    lease = boot_lease_on(client, instance_id, leases, boot_seconds=1, seconds=1)
    with pytest.raises(ValueError, match="must say by when the boot ends"):
        dataclasses.replace(lease, boot_by=None)
    document = json.loads(lease.to_bytes())
    document["lease"]["boot_by"] = None
    key = f"leases/{instance_id}.json"
    stored = leases.store.get(key)
    assert stored is not None
    leases.store.put(key, json.dumps(document).encode(), version=stored.version)
    cortecs_clock.advance(1)
    (reaped,) = leases.reap(client)
    assert reaped.outcome == FAILED and "must say by when the boot ends" in reaped.detail
    assert status(cortecs_mock, instance_id) == "pending"


def test_a_lease_claimed_by_a_live_reaper_is_left_to_it(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    instance_id = running_instance(cortecs_mock, cortecs_clock)
    lease = lease_on(client, instance_id, leases)
    cortecs_clock.advance(60)
    leases.grant(dataclasses.replace(lease, claimed_by="runner-2:41", claimed_at=cortecs_clock()))
    (reaped,) = leases.reap(client)
    assert (reaped.outcome, reaped.detail) == (CLAIMED_ELSEWHERE, "by runner-2:41")
    assert status(cortecs_mock, instance_id) == "running"
    # A claim that old is a dead reaper's: taken over.
    cortecs_clock.advance(900)
    assert [r.outcome for r in leases.reap(client)] == [STOPPED]


def test_two_reapers_at_once_act_on_each_lease_once(
    cortecs_mock: FakeBackend, client: Client, tmp_path: Path, cortecs_clock: ManualClock
) -> None:
    store = DirectoryStore(tmp_path / "journal")
    first, second = Leases(store, clock=cortecs_clock), Leases(store, clock=cortecs_clock)
    ids = [running_instance(cortecs_mock, cortecs_clock) for _ in range(8)]
    for instance_id in ids:
        lease_on(client, instance_id, first)
    cortecs_clock.advance(60)
    stops: list[str] = []
    original = client.stop

    def counting_stop(instance_id: str) -> Instance:
        stops.append(instance_id)
        return original(instance_id)

    outcomes: list[list[Reaped]] = [[], []]
    with Client(**CLIENT_ARGS, clock=cortecs_clock, sleep=cortecs_clock.sleep) as other_client:
        other_client.stop = counting_stop  # type: ignore[method-assign]
        client.stop = counting_stop  # type: ignore[method-assign]
        threads = [
            threading.Thread(target=lambda: outcomes[0].extend(first.reap(client))),
            threading.Thread(target=lambda: outcomes[1].extend(second.reap(other_client))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    every = [r for rows in outcomes for r in rows]
    assert sorted(stops) == sorted(ids)  # each instance stopped once
    assert sorted(r.instance_id for r in every if r.outcome == STOPPED) == sorted(ids)
    assert not [r for r in every if r.outcome == FAILED]
    assert store.keys("leases/") == []


def test_an_action_that_fails_is_reported_and_its_lease_kept_for_the_next_run(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    instance_id = running_instance(cortecs_mock, cortecs_clock)
    lease_on(client, instance_id, leases)
    cortecs_clock.advance(60)
    cortecs_mock.faults.fail_next(500, times=5, path="/instances/stop", method="POST")  # every try
    (reaped,) = leases.reap(client)
    assert reaped.failed and reaped.detail.startswith("could not be stopped: ")
    assert leases.get(instance_id) is not None
    assert [r.outcome for r in leases.reap(client)] == [STOPPED]


def test_reap_acts_on_the_leases_side_by_side_and_reports_each_as_it_is_done(
    cortecs_mock: FakeBackend, client: Client, leases: Leases, cortecs_clock: ManualClock
) -> None:
    ids = [running_instance(cortecs_mock, cortecs_clock) for _ in range(4)]
    for instance_id in ids:
        lease_on(client, instance_id, leases)
    cortecs_clock.advance(60)
    # Each stop goes on only with another under way: one lease at a time would break this.
    in_pairs = threading.Barrier(2, timeout=10)
    original = client.stop

    def paired_stop(instance_id: str) -> Instance:
        in_pairs.wait()
        return original(instance_id)

    told: list[tuple[str, threading.Thread]] = []
    client.stop = paired_stop  # type: ignore[method-assign]
    reaped = leases.reap(
        client, on_reaped=lambda r: told.append((r.instance_id, threading.current_thread()))
    )
    assert [r.instance_id for r in reaped] == sorted(ids)  # in the leases' order
    assert all(r.outcome == STOPPED for r in reaped)
    assert sorted(id_ for id_, _ in told) == sorted(ids)
    assert {thread for _, thread in told} == {threading.current_thread()}
