"""auto_stop_after end to end: two machines share a journal, in a directory or in S3 (moto's
server over HTTP), each a provider process or a CLI process with its own HOME, driven as the
engine and a cron would drive them, against the fake API over HTTP.

Machine A runs `pulumi up` and `destroy`; machine B runs `cortecs-instances reap`, as a
scheduled workflow on another runner would. Leases last a few seconds of the wall clock.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi_cortecs import Client, ManagedInstance
from pulumi_cortecs._leases import Lease, Leases
from pulumi_cortecs._store import open_store
from pulumi_cortecs.testing import (
    DEMO_API_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    Deployment,
    FakeApiProcess,
    ProviderProcess,
    program_inputs,
    provider_env,
    start_fake_api,
)
from pulumi_cortecs.testing.engine import PROJECT
from pulumi_cortecs.testing.plugin import PluginProcess, urn

from tests import LLAMA, LLAMA_ID, MANAGED_INSTANCE_TYPE, PROJECT_ROOT, wait_for

pytestmark = pytest.mark.engine

LEASE = "3s"
OWNER = f"urn:pulumi:test::{PROJECT}::{MANAGED_INSTANCE_TYPE}::chat"  # its resource's URN


@dataclass(frozen=True)
class SharedJournal:
    """Where both machines keep the journal, and the variable that tells them."""

    variable: str
    location: str

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of a process on the machine whose home is ``home``."""
        return provider_env(home, **{self.variable: self.location}, **extra)


@pytest.fixture(params=["directory", "s3"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> SharedJournal:
    """One directory (a volume both machines mount), or a prefix in S3 (moto's server)."""
    if request.param == "s3":
        return SharedJournal("CORTECS_JOURNAL_URL", request.getfixturevalue("cortecs_s3_journal"))
    return SharedJournal("CORTECS_JOURNAL_DIR", str(tmp_path / "shared-journal"))


@pytest.fixture
def machine_a(
    cortecs_api: FakeApiProcess, journal: SharedJournal, tmp_path: Path
) -> Iterator[Deployment]:
    home = tmp_path / "machine-a"
    home.mkdir()
    provider = ProviderProcess(env=journal.env(home), cwd=home)
    provider.configure(cortecs_api.stack_config())
    yield Deployment(provider)
    provider.close()


def declared(**inputs: Any) -> dict[str, Any]:
    return program_inputs(lambda: [ManagedInstance("chat", model_id=LLAMA, **inputs)])["chat"]


def reap(
    api: FakeApiProcess, journal: SharedJournal, home: Path, *flags: str
) -> tuple[int, Any, str]:
    """`cortecs-instances reap --json` on machine B: its code, rows and stderr."""
    home.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_cortecs", "reap", "--json", *flags],
        env=journal.env(
            home,
            CORTECS_CLIENT_ID=DEMO_CLIENT_ID,
            CORTECS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
            CORTECS_API_BASE_URL=api.api_base_url,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = json.loads(done.stdout)["reaped"] if done.stdout else None
    return done.returncode, rows, done.stderr


def status(api: FakeApiProcess, instance_id: str) -> str | None:
    found = [i["status"] for i in api.instances() if i["instance_id"] == instance_id]
    return found[0] if found else None


def wait_until(moment: str) -> None:
    time.sleep(max(0.0, datetime.fromisoformat(moment).timestamp() - time.time()) + 0.2)


def test_reap_from_another_machine_stops_it_and_the_next_up_restarts_and_renews(
    cortecs_api: FakeApiProcess, machine_a: Deployment, journal: SharedJournal, tmp_path: Path
) -> None:
    machine_b = tmp_path / "machine-b"
    leases = Leases(open_store(journal.location))
    inputs = declared(auto_stop_after=LEASE)
    machine_a.up({"chat": inputs})
    chat = machine_a.state["chat"]
    instance_id, stops_at = chat.id, chat.outputs["stops_at"]
    assert leases.get(instance_id) is not None
    # (A lease that has not run out is left alone: tests/test_leases.py, on an injected clock.)

    wait_until(stops_at)
    # Without a refresh, preview already says the next up brings it back.
    assert machine_a.preview({"chat": inputs}) == {"chat": "update"}
    code, rows, err = reap(cortecs_api, journal, machine_b)
    assert code == 0, err
    assert [(r["instance_id"], r["owner"], r["outcome"]) for r in rows] == [
        (instance_id, OWNER, "stopped")
    ]
    assert rows[0]["cost"] > 0 and rows[0]["currency"] == "EUR"
    assert status(cortecs_api, instance_id) == "stopped"
    assert leases.get(instance_id) is None

    # The next up, without a refresh: the same instance, running, with a new lease.
    assert machine_a.up({"chat": inputs}) == {"chat": "update"}
    renewed = machine_a.state["chat"].outputs
    assert (machine_a.state["chat"].id, renewed["status"]) == (instance_id, "running")
    assert status(cortecs_api, instance_id) == "running"
    assert renewed["stops_at"] > stops_at
    assert leases.get(instance_id) is not None

    # Once more, with a refresh first.
    wait_until(renewed["stops_at"])
    assert reap(cortecs_api, journal, machine_b)[1][0]["outcome"] == "stopped"
    machine_a.refresh()
    assert machine_a.state["chat"].outputs.get("stops_at") is None
    assert machine_a.up({"chat": inputs}) == {"chat": "update"}
    assert status(cortecs_api, instance_id) == "running"

    machine_a.destroy()
    assert machine_a.provider.logged(f"{instance_id} cost 0.01 EUR since its last start")
    assert leases.all() == []
    assert reap(cortecs_api, journal, machine_b) == (0, [], "")


def test_a_create_killed_during_the_boot_leaves_a_lease_that_reap_acts_on(
    cortecs_api: FakeApiProcess, machine_a: Deployment, journal: SharedJournal, tmp_path: Path
) -> None:
    cortecs_api.configure(step_seconds=1.0)  # a boot of 5 s
    leases = Leases(open_store(journal.location))
    checked, _ = machine_a.provider.check(declared(auto_stop_after="2s", wait_timeout_seconds=10))
    failures: list[grpc.RpcError] = []

    def create() -> None:
        try:
            machine_a.provider.create(checked)
        except grpc.RpcError as error:
            failures.append(error)

    creating = threading.Thread(target=create)
    creating.start()
    wait_for(lambda: len(leases.all()) == 1, timeout=30)
    machine_a.provider.kill()  # the `pulumi up` dies with it: no state, no teardown
    creating.join()
    assert failures, "the killed create never returned to the engine"
    (instance,) = cortecs_api.instances()
    assert instance["status"] == "pending"
    (lease,) = leases.all()
    assert (lease.instance_id, lease.owner, lease.action, lease.started_at) == (
        instance["instance_id"],
        OWNER,
        "stop",
        None,
    )
    # Not before a live `up` would have given up waiting (10 s), though auto_stop_after is 2 s.
    assert lease.boot_by is not None and lease.expires_at == lease.boot_by

    # (Before it runs out it is left alone: tests/test_leases.py, on an injected clock.)
    wait_until(lease.expires.isoformat())
    code, rows, err = reap(cortecs_api, journal, tmp_path / "machine-b")
    assert code == 0, err
    assert [(r["instance_id"], r["owner"], r["outcome"]) for r in rows] == [
        (instance["instance_id"], OWNER, "stopped")
    ]
    assert status(cortecs_api, instance["instance_id"]) == "stopped"


def test_two_reaps_at_once_act_once_each(
    cortecs_api: FakeApiProcess, machine_a: Deployment, journal: SharedJournal, tmp_path: Path
) -> None:
    resources = {
        name: program_inputs(
            lambda name=name: [ManagedInstance(name, model_id=LLAMA, auto_stop_after=LEASE)]
        )[name]
        for name in ("a", "b", "c", "d")
    }
    machine_a.up(resources)
    ids = sorted(entry.id for entry in machine_a.state.values())
    wait_until(max(entry.outputs["stops_at"] for entry in machine_a.state.values()))

    with ThreadPoolExecutor(2) as pool:
        runs = list(
            pool.map(
                lambda machine: reap(cortecs_api, journal, tmp_path / machine),
                ["machine-b", "machine-c"],
            )
        )
    assert [code for code, _, _ in runs] == [0, 0], [err for _, _, err in runs]
    stopped = sorted(
        r["instance_id"] for _, rows, _ in runs for r in rows if r["outcome"] == "stopped"
    )
    assert stopped == ids
    stops = [
        call for call in cortecs_api.state()["calls"] if call == ["POST", "/api/v1/instances/stop"]
    ]
    assert len(stops) == len(ids)
    assert {status(cortecs_api, instance_id) for instance_id in ids} == {"stopped"}


def test_a_lease_that_no_longer_describes_its_instance_is_left_alone_and_reported(
    cortecs_api: FakeApiProcess, journal: SharedJournal, tmp_path: Path
) -> None:
    leases = Leases(open_store(journal.location))
    args = {"model_id": LLAMA_ID, "hardware_type_id": "NVIDIA_L4_1", "num_workers": 1}
    reused, other_args = (cortecs_api.add_foreign_instance(args) for _ in range(2))
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        for instance_id in (reused, other_args):
            lease = Lease.of(
                client.get_instance(instance_id),
                owner=OWNER,
                expires_at=time.time() - 1,
                price=None,
            )
            if instance_id == reused:
                # Granted on an instance since deleted, whose id the API gave to this one.
                lease = dataclasses.replace(lease, started_at="2020-01-01T00:00:00+00:00")
            else:
                lease = dataclasses.replace(lease, args={**lease.args, "num_workers": 4})
            leases.grant(lease)

    code, rows, err = reap(cortecs_api, journal, tmp_path / "machine-b")
    assert code == 0, err
    by_id = {row["instance_id"]: row for row in rows}
    assert {row["outcome"] for row in rows} == {"left alone"}
    assert "started again since the lease was granted" in by_id[reused]["detail"]
    assert "arguments differ from the lease's (num_workers)" in by_id[other_args]["detail"]
    assert f"{reused} ({OWNER}) left alone" in err
    assert {status(cortecs_api, reused), status(cortecs_api, other_args)} == {"running"}
    assert len(leases.all()) == 2  # kept, for someone to look at


@pytest.mark.parametrize("bad", ["0s", "-1h", "1 fortnight"])
def test_a_bad_auto_stop_after_fails_preview_naming_the_field_and_its_forms(
    machine_a: Deployment, bad: str
) -> None:
    _, failures = machine_a.provider.check(declared(auto_stop_after=bad))
    assert failures == [
        (
            "auto_stop_after",
            'must be a duration such as "90s", "45m", "8h" or "2d" (a whole number of seconds, '
            "minutes, hours or days), or a whole number of seconds, greater than 0 and at most "
            f"365d, got {bad!r}",
        )
    ]


def test_preview_says_when_it_stops_and_the_most_it_costs_until_then(
    machine_a: Deployment,
) -> None:
    checked, failures = machine_a.provider.check(
        declared(auto_stop_after="90m", num_workers=2, billing_interval="per_hour")
    )
    assert failures == []
    # Two started hours of two workers at the hardware's price.
    most = checked["price_per_hour"] * 2 * 2
    assert machine_a.provider.logged(
        "auto_stop_after 90m: stops 90m after the `up` that starts it ("
    )
    assert machine_a.provider.logged(f"at most {most:.2f} EUR until then (billed per_hour)")


def test_a_lease_holds_no_secret(tmp_path: Path) -> None:
    secret, api_key = "canary-client-secret-20c4e1", "canary-api-key-77d0b3"
    journal = tmp_path / "journal"
    with start_fake_api("--step-seconds", "0.05") as api:
        api.configure(client_secret=secret, api_key=api_key)
        provider = ProviderProcess(env=provider_env(tmp_path, CORTECS_JOURNAL_DIR=str(journal)))
        try:
            provider.configure(
                api.stack_config(**{"cortecs:clientSecret": secret, "cortecs:apiKey": api_key})
            )
            stack = Deployment(provider)
            stack.up({"chat": declared(auto_stop_after="1h")})
            (key,) = open_store(str(journal)).keys("leases/")
            text = (journal / key).read_text()
            stack.destroy()
        finally:
            provider.close()
    assert stack.state == {}
    assert OWNER in text and secret not in text and api_key not in text
    assert "token" not in text.lower()


def test_the_native_provider_leases_the_same_way(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    leases = Leases(open_store(str(journal)))
    plugin = PluginProcess(
        PROJECT_ROOT / "provider",
        env=provider_env(tmp_path, CORTECS_JOURNAL_DIR=str(journal)),
        cwd=tmp_path,
    )
    try:
        plugin.configure(
            {
                "clientId": DEMO_CLIENT_ID,
                "clientSecret": DEMO_CLIENT_SECRET,
                "apiKey": DEMO_API_KEY,
                "apiBaseUrl": cortecs_api.api_base_url,
            }
        )
        _, failures = plugin.check("chat", {"modelId": LLAMA, "autoStopAfter": "1 fortnight"})
        assert [name for name, _ in failures] == ["autoStopAfter"]
        news, failures = plugin.check("chat", {"modelId": LLAMA, "autoStopAfter": "1h"})
        assert failures == []
        instance_id, outputs = plugin.create("chat", news)
        lease = leases.get(instance_id)
        assert lease is not None and lease.owner == urn("chat")
        assert outputs["stopsAt"] == datetime.fromtimestamp(
            lease.expires_at, timezone.utc
        ).isoformat(timespec="seconds")
        plugin.delete("chat", instance_id, outputs)
        assert leases.all() == []
    finally:
        plugin.close()
