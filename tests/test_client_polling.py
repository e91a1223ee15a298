"""The poll policy on simulated timelines, and the client's waits that use it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from provider.client import Client
from provider.errors import InstanceStoppedError, NotFoundError, WaitTimeoutError
from provider.models import Instance
from provider.polling import AdaptivePollPolicy, Observation, PollPolicy
from tests._client_helpers import BASE, CLIENT_ID, SECRET, Clock, instance_json, token_response


def simulate(
    policy: PollPolicy | None, step_seconds: float, *, offset: float = 0.0, steps: int = 5
) -> tuple[int, float]:
    """Poll an instance started at 0 from ``offset`` on: (status requests, lag after running)."""
    finish = steps * step_seconds
    now, observations = offset, []
    while now < finish:
        step = math.floor(now / step_seconds) + 1
        observations.append(Observation(now, "pending", step, steps))
        now += policy.next_delay(observations) if policy else 5.0  # None: the fixed 5 s baseline
    return len(observations) + 1, now - finish


OFFSETS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.45]  # how long after the start the wait begins


@pytest.mark.parametrize(
    ("step_seconds", "max_requests"),
    [(12.0, 17), (1.0, 10)],
)
def test_adaptive_policy_finds_the_finish_quickly(step_seconds: float, max_requests: int) -> None:
    runs = [simulate(AdaptivePollPolicy(), step_seconds, offset=o) for o in OFFSETS]
    lags = [lag for _, lag in runs]
    assert statistics.median(lags) <= 0.5
    assert max(lags) <= 0.5
    assert max(requests for requests, _ in runs) <= max_requests


def test_combined_request_budget_against_the_fixed_five_second_poll() -> None:
    # 5 x 1 s alone costs the fixed poll 2 requests (and ~0-5 s of lag); no policy that
    # learns the cadence can match that, so the budget is over both scenarios together.
    ours = sum(simulate(AdaptivePollPolicy(), s)[0] for s in (12.0, 1.0))
    baseline = sum(simulate(None, s)[0] for s in (12.0, 1.0))
    assert (ours, baseline) == (25, 15)
    assert ours <= 2 * baseline


def test_backoff_is_geometric_until_a_cadence_is_known() -> None:
    policy = AdaptivePollPolicy()
    observations: list[Observation] = []
    delays = []
    for t in (0.0, 0.5, 1.5, 3.5, 7.5, 12.5, 17.5):
        observations.append(Observation(t, "pending", 3, 5))  # never moves: no cadence
        delays.append(policy.next_delay(observations))
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_unequal_steps_fall_back_to_backoff() -> None:
    policy = AdaptivePollPolicy()
    # Step 2 lasted ~1 s, step 3 already more than 10 s: no equal step duration explains it.
    observations = [
        Observation(0.0, "pending", 1, 5),
        Observation(1.0, "pending", 2, 5),
        Observation(2.0, "pending", 3, 5),
        Observation(12.0, "pending", 3, 5),
    ]
    assert policy.next_delay(observations) == 1.0


def test_never_polls_faster_than_the_minimum() -> None:
    observations = [Observation(t / 10, "pending", 1 + t, 5) for t in range(4)]
    assert AdaptivePollPolicy().next_delay(observations) >= 0.2


def test_without_steps_it_backs_off() -> None:
    policy = AdaptivePollPolicy()
    running = [Observation(0.0, "running"), Observation(0.5, "running")]
    assert policy.next_delay(running) == 1.0


# The client's waits


class Provisioning:
    """An instance whose status follows the test clock: 5 steps of 12 s, then running."""

    def __init__(self, router: respx.MockRouter, clock: Clock, shape: str = "newer") -> None:
        self.clock = clock
        self.shape = shape
        self.stopped_at: float | None = None
        self.route = router.get("/instances/instance-1").mock(side_effect=self.respond)

    def respond(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"instance": self.state()})

    def state(self) -> dict[str, Any]:
        now = self.clock.now
        if self.stopped_at is not None and now >= self.stopped_at:
            return instance_json(status="stopped", step=None, shape=self.shape)
        if now >= 60:
            return instance_json(status="running", step=5, shape=self.shape)
        return instance_json(step=int(now // 12) + 1, shape=self.shape)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE) as router:
        router.post("/oauth2/token").mock(return_value=token_response())
        yield router


@pytest.fixture
def client(clock: Clock) -> Iterator[Client]:
    with Client(CLIENT_ID, SECRET, sleep=clock.sleep, clock=clock) as client:
        yield client


@pytest.mark.parametrize("shape", ["newer", "older"])
def test_wait_until_running_reports_each_step(
    router: respx.MockRouter, client: Client, clock: Clock, shape: str
) -> None:
    provisioning = Provisioning(router, clock, shape)
    seen: list[Instance] = []
    instance = client.wait_until_running("instance-1", on_progress=seen.append)
    assert instance.status == "running" and instance.base_url
    stages = [
        (i.status, i.instance_status.init_progress and i.instance_status.init_progress.current_step)
        for i in seen
    ]
    assert stages == [
        ("pending", 1),
        ("pending", 2),
        ("pending", 3),
        ("pending", 4),
        ("pending", 5),
        ("running", 5),
    ]
    assert 60 <= clock.now <= 60.5
    assert provisioning.route.call_count <= 17


def test_wait_until_running_fails_fast_when_stopped(
    router: respx.MockRouter, client: Client, clock: Clock
) -> None:
    provisioning = Provisioning(router, clock)
    provisioning.stopped_at = 20.0
    with pytest.raises(InstanceStoppedError, match="instance-1 was stopped"):
        client.wait_until_running("instance-1")
    assert clock.now < 30


def test_wait_timeout_names_the_last_status_and_step(
    router: respx.MockRouter, client: Client, clock: Clock
) -> None:
    Provisioning(router, clock)
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait_until_running("instance-1", timeout=30)
    error = caught.value
    assert str(error) == (
        "Instance instance-1 was not running after 30 s; last status: pending, step 3/5 Step 3"
    )
    assert (error.instance_id, error.last_status) == ("instance-1", "pending")
    assert clock.now == 30.0


def test_wait_until_stopped(router: respx.MockRouter, client: Client, clock: Clock) -> None:
    provisioning = Provisioning(router, clock)
    provisioning.stopped_at = 3.0
    assert client.wait_until_stopped("instance-1").status == "stopped"
    assert clock.now == pytest.approx(3.5)


def test_a_vanished_instance_propagates(router: respx.MockRouter, client: Client) -> None:
    router.get("/instances/instance-1").mock(
        return_value=httpx.Response(404, json={"detail": "Instance instance-1 not found"})
    )
    with pytest.raises(NotFoundError):
        client.wait_until_running("instance-1")


def test_custom_poll_policy(router: respx.MockRouter, clock: Clock) -> None:
    class Every(AdaptivePollPolicy):
        def next_delay(self, observations: Any) -> float:
            return 5.0

    provisioning = Provisioning(router, clock)
    with Client(CLIENT_ID, SECRET, sleep=clock.sleep, clock=clock, poll_policy=Every) as client:
        client.wait_until_running("instance-1")
    assert provisioning.route.call_count == 13
