"""Reaping at scale: 1, 16 and 64 expired leases while every API call takes 200 ms, reaped as
``cortecs-instances reap`` does (side by side) against one lease at a time (the baseline: what
reap did before, ``at_once=1``), same fake, same run. Seconds for the whole reap, and
how many status requests (``GET /instances`` and ``GET /instances/{id}``, counted by the fake)
it sent. The fake stops an instance at once, so this is the cost of the requests themselves:
a real stop's wait adds the same to each lease, one after another in the baseline.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pulumi_cortecs import Client
from pulumi_cortecs._leases import DELETE, REAP_CONCURRENCY, Lease, Leases
from pulumi_cortecs._store import DirectoryStore
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.processes import FakeApiProcess, start_fake_api

from ._common import Row
from .starts import API_LATENCY
from .waiting import SIZES, _status_requests

ARGS = {"model_id": "meta-llama--Meta-Llama-3.1-8B-Instruct", "hardware_type_id": "NVIDIA_L4_1"}


def _reap(fake: FakeApiProcess, size: int, at_once: int) -> tuple[float, int]:
    """Seconds to reap ``size`` expired delete leases, and the status requests sent."""
    fake.reset()
    ids = [fake.add_foreign_instance(ARGS) for _ in range(size)]
    with (
        tempfile.TemporaryDirectory() as journal,
        Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, fake.api_base_url) as client,
    ):
        leases = Leases(DirectoryStore(Path(journal)))
        for instance in client.list_instances():
            lease = Lease.of(
                instance, owner="bench", expires_at=leases.now() - 1, price=None, action=DELETE
            )
            leases.grant(lease)
        fake.faults(latency=API_LATENCY)
        calls_before = len(fake.state()["calls"])
        began = time.monotonic()
        reaped = leases.reap(client, at_once=at_once)
        seconds = time.monotonic() - began
        fake.faults(clear={})
    assert sorted(r.instance_id for r in reaped if r.outcome == "deleted") == sorted(ids), reaped
    calls = fake.state()["calls"][calls_before:]
    return seconds, _status_requests(calls)


def run() -> list[Row]:
    rows: list[Row] = []
    with start_fake_api("--step-seconds", "0.05") as fake:
        for size in SIZES:
            ours = _reap(fake, size, REAP_CONCURRENCY)
            one_at_a_time = _reap(fake, size, 1)
            name = f"10. reap {size} expired leases, API latency 200 ms"
            rows += [
                Row(name, "whole reap", ours[0], one_at_a_time[0], "s", "", None),
                Row(name, "status requests", ours[1], one_at_a_time[1], "requests", "", None),
            ]
    return rows
