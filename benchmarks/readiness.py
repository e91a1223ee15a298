"""Readiness detection: how late ``wait_until_running`` notices ``running``, at what cost.

Lag = (wall time the wait returns) - (when the fake says the instance became running: its
launch time + steps x step length, read from the in-thread backend). Each sample starts an
instance, waits a random phase in [0, 5) s (so the baseline's 5 s grid falls anywhere relative
to the finish, as it would against real step lengths), then waits for it; ours and the
baseline get the same phases, on separate instances, at the same time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pulumi_cortecs import Client
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.api._polling import Observation
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer

from ._common import Row, median

BASELINE_INTERVAL = 5.0
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"


class FixedPoll:
    """The upstream client: ask every 5 s."""

    def next_delay(self, observations: Sequence[Observation]) -> float:
        return BASELINE_INTERVAL


@dataclass
class Sample:
    lag: float
    requests: int


def _run_round(phases: Sequence[float], step_seconds: float) -> tuple[list[Sample], list[Sample]]:
    backend = FakeBackend(step_seconds=step_seconds, num_steps=5)
    with FakeServer(backend) as server:
        url = server.api_base_url
        ours_client = Client("demo-client-id", "demo-client-secret", url)
        base_client = Client("demo-client-id", "demo-client-secret", url, poll_policy=FixedPoll)
        results: dict[tuple[str, int], tuple[str, float]] = {}

        def one(kind: str, client: Client, index: int, phase: float) -> None:
            instance_id = client.start(InstanceArgs(model_id=MODEL)).instance_id
            time.sleep(phase)
            client.wait_until_running(instance_id, timeout=600)
            results[kind, index] = (instance_id, time.time())

        with ours_client, base_client:
            ours_client.authenticate()
            base_client.authenticate()
            threads = [
                threading.Thread(target=one, args=(kind, client, i, phase))
                for i, phase in enumerate(phases)
                for kind, client in (("ours", ours_client), ("baseline", base_client))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        samples: dict[str, list[Sample]] = {"ours": [], "baseline": []}
        for (kind, _), (instance_id, returned) in sorted(results.items()):
            running_since = backend.instances[instance_id].running_since
            requests = backend.calls.count(("GET", f"/api/v1/instances/{instance_id}"))
            samples[kind].append(Sample(returned - running_since, requests))
    return samples["ours"], samples["baseline"]


def run(*, step_seconds: float, samples: int, per_round: int, seed: int = 1) -> list[Row]:
    rng = random.Random(seed)
    ours: list[Sample] = []
    baseline: list[Sample] = []
    while len(ours) < samples:
        phases = [
            rng.uniform(0, BASELINE_INTERVAL) for _ in range(min(per_round, samples - len(ours)))
        ]
        o, b = _run_round(phases, step_seconds)
        ours += o
        baseline += b
    name = f"1. readiness 5x{step_seconds:g} s (n={len(ours)})"
    lag, base_lag = median([s.lag for s in ours]), median([s.lag for s in baseline])
    req, base_req = median([s.requests for s in ours]), median([s.requests for s in baseline])
    return [
        Row(name, "median lag", lag, base_lag, "s", "<= 0.5 s", lag <= 0.5),
        Row(
            name,
            "max lag",
            max(s.lag for s in ours),
            max(s.lag for s in baseline),
            "s",
            "",
            None,
        ),
        Row(
            name, "median status requests", req, base_req, "requests", "<= 2x", req <= 2 * base_req
        ),
    ]
