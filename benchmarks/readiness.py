"""Readiness detection over a matrix of step timings: how late ``wait_until_running`` notices
``running``, and how many status requests it sends, ours against a plain 5 s poll.

Each timing gets its own fake (in this process, served over HTTP), and all timings run at once.
A sample starts two instances with the same steps, one waited on by our client and one by a
client that asks every 5 s (the upstream client's habit), each wait right after its start as a
create's is. Each sample's steps are stretched by a random factor in [0.9, 1.1], so the 5 s grid
lands anywhere relative to the finish. Lag = when the wait returns minus when the fake says the
instance became running (its launch plus its schedule, read from the backend, one clock for
both). Each sample's waits have clients of their own, so that the status GETs a wait sends
(``GET /instances``, which a client's waits share, and ``GET /instances/{id}``) are counted as
that client sends them while it waits; their rate is per second waited (at least one second, for
an instance that runs at once).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from pulumi_cortecs import Client
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.api._polling import Observation, ProportionalPollPolicy
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer

from ._common import Row

BASELINE_INTERVAL = 5.0
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
INSTANT_MODEL = "microsoft/Phi-3.5-mini-instruct"  # the fake's catalog provisions it at once
STRETCH = (0.9, 1.1)
ALL_TIMINGS = "1. readiness: all timings, on average"


@dataclass(frozen=True)
class Timing:
    """How an instance initialises: seconds per step, and whether it runs at the ``end`` of
    the last step or as it ``start``s; ``instant`` models run at once."""

    label: str
    step_seconds: tuple[float, ...] = (0.0,) * 5
    running_at: str = "end"
    instant: bool = False

    @property
    def provisioning(self) -> float:
        counted = self.step_seconds[:-1] if self.running_at == "start" else self.step_seconds
        return 0.0 if self.instant else sum(counted)


ABOUT_TEN_SECONDS = (
    Timing("5 x 2 s, running at the end", (2.0,) * 5),
    Timing("5 x 2.5 s, running as the last begins", (2.5,) * 5, "start"),
    Timing("download dominates", (0.5, 1.0, 6.0, 2.0, 0.5)),
    Timing("loading dominates, running as it ends", (0.5, 0.5, 1.0, 7.5, 0.5), "start"),
    Timing("allocation dominates (GPUs queued)", (7.0, 0.5, 0.5, 1.0, 1.0)),
    Timing("instant model", instant=True),
)
LONGER = (
    Timing("5 x 12 s", (12.0,) * 5),
    Timing("unequal, running as the last begins", (10.0, 5.0, 45.0, 30.0, 10.0), "start"),
    Timing("allocation dominates, 2 min", (90.0, 5.0, 10.0, 10.0, 5.0)),
)


class FixedPoll:
    """The upstream client: ask every 5 s."""

    def next_delay(self, observations: Sequence[Observation]) -> float:
        return BASELINE_INTERVAL


@dataclass
class Sample:
    lag: float
    allowed_lag: float
    requests: int
    waited: float

    @property
    def rate(self) -> float:
        return self.requests / max(self.waited, 1.0)


class _StatusCounter(httpx.HTTPTransport):
    """A client's transport that counts the status requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rstrip("/")
        if request.method == "GET" and (path.endswith("/instances") or "/instances/" in path):
            self.sent += 1
        return super().handle_request(request)


@dataclass
class _Waited:
    instance_id: str
    sent_at: float
    returned_at: float = 0.0
    requests: int = 0


def _measure(timing: Timing, samples: int, seed: int) -> tuple[list[Sample], list[Sample]]:
    """(ours, baseline) for ``samples`` samples of ``timing``, all at once on one fake."""
    rng = random.Random(seed)
    stretches = [rng.uniform(*STRETCH) for _ in range(samples)]
    backend = FakeBackend(running_at=timing.running_at, instant_models=timing.instant)
    starting = threading.Lock()  # a sample's steps are configured, then both its starts sent
    waits: dict[str, list[_Waited]] = {"ours": [], "baseline": []}
    with FakeServer(backend) as server:

        def client(counter: _StatusCounter, kind: str) -> Client:
            made = Client(
                "demo-client-id",
                "demo-client-secret",
                server.api_base_url,
                transport=counter,
                poll_policy=FixedPoll if kind == "baseline" else ProportionalPollPolicy,
            )
            made.authenticate()
            return made

        def wait(client: Client, counter: _StatusCounter, waited: _Waited) -> None:
            before = counter.sent
            client.wait_until_running(waited.instance_id, timeout=900)
            waited.returned_at = time.time()
            waited.requests = counter.sent - before

        def sample(stretch: float) -> None:
            # A client per wait: its status requests are that wait's alone.
            counters = {kind: _StatusCounter() for kind in waits}
            clients = {kind: client(counters[kind], kind) for kind in waits}
            model = INSTANT_MODEL if timing.instant else MODEL
            with starting:
                backend.configure(step_seconds=[s * stretch for s in timing.step_seconds])
                started = {}
                for kind, made in clients.items():
                    sent_at = time.time()
                    instance_id = made.start(InstanceArgs(model_id=model)).instance_id
                    started[kind] = _Waited(instance_id, sent_at)
            threads = []
            for kind, made in clients.items():
                waits[kind].append(started[kind])
                arguments = (made, counters[kind], started[kind])
                threads.append(threading.Thread(target=wait, args=arguments))
                threads[-1].start()
            for thread in threads:
                thread.join()
            for made in clients.values():
                made.close()

        _run_all([threading.Thread(target=sample, args=(s,)) for s in stretches])
        return _samples(backend, waits["ours"]), _samples(backend, waits["baseline"])


def _run_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _samples(backend: FakeBackend, waits: list[_Waited]) -> list[Sample]:
    samples = []
    for waited in waits:
        instance = backend.instances[waited.instance_id]
        provisioning = instance.running_since - instance.launched_at
        samples.append(
            Sample(
                lag=waited.returned_at - instance.running_since,
                allowed_lag=max(1.0, 0.1 * provisioning),
                requests=waited.requests,
                waited=waited.returned_at - waited.sent_at,
            )
        )
    return samples


def _rows(timing: Timing, ours: list[Sample], baseline: list[Sample]) -> list[Row]:
    section = f"1. readiness: {timing.label} (~{timing.provisioning:.0f} s, n={len(ours)})"
    lags, base_lags = [s.lag for s in ours], [s.lag for s in baseline]
    rate, base_rate = _mean_rate(ours), _mean_rate(baseline)
    return [
        Row(
            section,
            "max lag",
            max(lags),
            max(base_lags),
            "s",
            # Each sample's own boot, stretched: a 10.2 s one may be 1.02 s late.
            "<= max(1 s, 10% of boot)",
            all(s.lag <= s.allowed_lag for s in ours),
        ),
        Row(
            section,
            "median lag",
            statistics.median(lags),
            statistics.median(base_lags),
            "s",
            "",
            None,
        ),
        Row(
            section,
            "median status requests",
            statistics.median(s.requests for s in ours),
            statistics.median(s.requests for s in baseline),
            "requests",
            "",
            None,
        ),
        Row(section, "status requests per second", rate, base_rate, "/s", "", None),
    ]


def _mean_rate(samples: list[Sample]) -> float:
    return statistics.mean(s.rate for s in samples)


def run(*, quick: bool, samples: int, seed: int = 1) -> list[Row]:
    """Every timing of the matrix at once (``quick``: those of about ten seconds)."""
    timings = ABOUT_TEN_SECONDS if quick else ABOUT_TEN_SECONDS + LONGER
    results: dict[Timing, tuple[list[Sample], list[Sample]]] = {}

    def measure(index: int, timing: Timing) -> None:
        results[timing] = _measure(timing, samples, seed + index)

    _run_all([threading.Thread(target=measure, args=item) for item in enumerate(timings)])
    rows = [row for timing in timings for row in _rows(timing, *results[timing])]
    every = [s for timing in timings for s in results[timing][0]]
    every_base = [s for timing in timings for s in results[timing][1]]
    rate, base_rate = _mean_rate(every), _mean_rate(every_base)
    return [
        *rows,
        Row(
            ALL_TIMINGS,
            "lag within max(1 s, 10% of the boot)",
            sum(s.lag <= s.allowed_lag for s in every) / len(every) * 100,
            sum(s.lag <= s.allowed_lag for s in every_base) / len(every_base) * 100,
            "%",
            "100%",
            all(s.lag <= s.allowed_lag for s in every),
        ),
        Row(ALL_TIMINGS, "status requests per second", rate, base_rate, "/s", "<= 1", rate <= 1),
    ]
