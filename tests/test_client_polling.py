"""The poll policy on simulated timelines, and the client's waits that use it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
import respx
from pulumi_cortecs import Client
from pulumi_cortecs._exceptions import InstanceStoppedError, NotFoundError, WaitTimeoutError
from pulumi_cortecs.api._models import Instance, InstanceArgs
from pulumi_cortecs.api._polling import LAUNCHED, AdaptivePollPolicy, Observation, PollPolicy
from pulumi_cortecs.testing import DEMO_CLIENT_ID, ManualClock

from tests import BASE, LLAMA_ID
from tests._client_helpers import (
    SECRET,
    instance_json,
    mock_model_detail,
    token_response,
)


def simulate(
    policy: PollPolicy | None,
    step_seconds: float,
    *,
    offset: float = 0.0,
    steps: int = 5,
    known: Sequence[Observation] = (),
) -> tuple[int, float]:
    """Poll an instance started at 0 from ``offset`` on: (status requests, lag after running).

    ``known``: what the waiting client knew before its first request (its launch record)."""
    finish = steps * step_seconds
    now, observations = offset, list(known)
    while now < finish:
        step = math.floor(now / step_seconds) + 1
        observations.append(Observation(now, "pending", step, steps))
        now += policy.next_delay(observations) if policy else 5.0  # None: the fixed 5 s baseline
    return len(observations) - len(known) + 1, now - finish


def launched_at(time: float) -> list[Observation]:
    """The record of a client that started the instance at ``time`` and was answered step 1."""
    return [Observation(time, LAUNCHED), Observation(time, "pending", 1, 5)]


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
    assert (ours, baseline) == (20, 15)
    assert ours <= 2 * baseline


TOLERANCE = 1e-9  # float sums of sleeps
PHASES = [0.3, 0.8, 1.3, 1.9, 2.4, 2.9, 3.3, 3.8, 4.2, 4.7]  # how long after the start it waits


def test_a_known_launch_pins_a_short_cadence_in_fewer_requests() -> None:
    # Waits that begin a while after the start (as in the readiness benchmark): without the
    # launch, the first observation says nothing about when the steps began.
    policy = AdaptivePollPolicy()
    known = [simulate(policy, 1.0, offset=p, known=launched_at(0.0)) for p in PHASES]
    unknown = [simulate(policy, 1.0, offset=p) for p in PHASES]
    assert statistics.median(r for r, _ in known) <= 3 < statistics.median(r for r, _ in unknown)
    assert max(lag for _, lag in known) <= policy.finish_spacing + TOLERANCE


def test_a_known_launch_bounds_the_step_duration() -> None:
    policy = AdaptivePollPolicy()
    # Step 2 at 1.5 s after a launch at 0: d <= 1.5 s, so step 3 is due by 3 s; the finish
    # window (1.5, 7.5] is still too wide to poll, so the policy bisects step 2's window.
    seen = [Observation(0.0, LAUNCHED), Observation(1.5, "pending", 2, 5)]
    assert policy.next_delay(seen) == pytest.approx(0.75)
    # The same observation alone bounds nothing: backoff.
    assert policy.next_delay(seen[1:]) == policy.initial


def test_a_launch_only_bounds_the_start_from_below() -> None:
    # Requested at -3 s, queued, started at 0: the launch must not be read as "step 1 began
    # within a step of the request" (the answer carried no step yet).
    policy = AdaptivePollPolicy()
    known = [Observation(-3.0, LAUNCHED), Observation(-3.0, "pending", 0, 5)]
    runs = [simulate(policy, 1.0, offset=p, known=known) for p in PHASES]
    assert max(lag for _, lag in runs) <= policy.finish_spacing + TOLERANCE
    assert max(requests for requests, _ in runs) <= 7


def test_observations_that_contradict_a_known_launch_back_off() -> None:
    policy = AdaptivePollPolicy()
    # Step 3 one second after the launch (d <= 0.5 s), still step 3 two seconds later.
    seen = [
        Observation(0.0, LAUNCHED),
        Observation(1.0, "pending", 3, 5),
        Observation(3.0, "pending", 3, 5),
    ]
    assert policy.next_delay(seen) == policy.initial + 2.0  # as long again as step 3 lasted


def test_unequal_steps_after_a_known_launch_still_end_the_wait() -> None:
    policy = AdaptivePollPolicy()
    step_ends = [0.2, 0.4, 6.4, 12.4, 18.4]  # two fast steps, then three slow ones
    now, observations = 0.1, launched_at(0.0)
    while now < step_ends[-1]:
        step = next(i for i, end in enumerate(step_ends, 1) if now < end)
        observations.append(Observation(now, "pending", step, 5))
        now += policy.next_delay(observations)
    assert now - step_ends[-1] <= policy.maximum
    assert len(observations) <= 30


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
    # Step 2 lasted at most 2 s, step 3 already more than 3 s: no equal step duration explains it.
    observations = [
        Observation(0.0, "pending", 1, 5),
        Observation(1.0, "pending", 2, 5),
        Observation(2.0, "pending", 3, 5),
        Observation(5.0, "pending", 3, 5),
    ]
    assert policy.next_delay(observations) == policy.initial + 3.0  # as long again as step 3


def test_never_polls_faster_than_the_minimum() -> None:
    observations = [Observation(t / 10, "pending", 1 + t, 5) for t in range(4)]
    assert AdaptivePollPolicy().next_delay(observations) >= 0.2


def test_without_steps_it_backs_off() -> None:
    policy = AdaptivePollPolicy()
    running = [Observation(0.0, "running"), Observation(0.5, "running")]
    assert policy.next_delay(running) == 1.0


# The client's waits


class Provisioning:
    """An instance whose status follows the test clock: 5 steps (12 s unless told) from
    ``launched_at`` on, then running. ``launch`` answers a start or restart."""

    def __init__(
        self,
        router: respx.MockRouter,
        cortecs_clock: ManualClock,
        shape: str = "newer",
        step_seconds: float = 12.0,
    ) -> None:
        self.clock = cortecs_clock
        self.shape = shape
        self.step_seconds = step_seconds
        self.launched_at = 0.0
        self.stopped_at: float | None = None
        self.route = router.get("/instances/instance-1").mock(side_effect=self.respond)

    @property
    def running_since(self) -> float:
        return self.launched_at + 5 * self.step_seconds

    def launch(self, request: httpx.Request) -> httpx.Response:
        self.launched_at, self.stopped_at = self.clock(), None
        return self.respond(request)

    def respond(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"instance": self.state()})

    def state(self) -> dict[str, Any]:
        now = self.clock()
        if self.stopped_at is not None and now >= self.stopped_at:
            return instance_json(status="stopped", step=None, shape=self.shape)
        if now >= self.running_since:
            return instance_json(status="running", step=5, shape=self.shape)
        step = int((now - self.launched_at) // self.step_seconds) + 1
        return instance_json(step=step, shape=self.shape)


def serve_start(router: respx.MockRouter, provisioning: Provisioning) -> None:
    router.get("/instances/").mock(return_value=httpx.Response(200, json={"instances": []}))
    router.post("/instances/start").mock(side_effect=provisioning.launch)


class Recording:
    """A custom policy: asks every second and keeps what it was shown."""

    def __init__(self) -> None:
        self.shown: list[list[Observation]] = []

    def next_delay(self, observations: Sequence[Observation]) -> float:
        self.shown.append(list(observations))
        return 1.0


def stages(seen: list[Instance]) -> list[tuple[str, int | None]]:
    return [
        (i.status, i.instance_status.init_progress and i.instance_status.init_progress.current_step)
        for i in seen
    ]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/oauth2/token").mock(return_value=token_response())
        mock_model_detail(router)
        yield router


@pytest.fixture
def client(cortecs_clock: ManualClock) -> Iterator[Client]:
    with Client(DEMO_CLIENT_ID, SECRET, sleep=cortecs_clock.sleep, clock=cortecs_clock) as client:
        yield client


@pytest.mark.parametrize("shape", ["newer", "older"])
def test_wait_until_running_reports_each_step_it_sees(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock, shape: str
) -> None:
    provisioning = Provisioning(router, cortecs_clock, shape)
    seen: list[Instance] = []
    instance = client.wait_until_running("instance-1", on_progress=seen.append)
    assert instance.status == "running" and instance.base_url
    # A 12 s step may pass unseen while the wait polls for the finish; the rest come once each.
    *pending, finished = stages(seen)
    assert pending[0] == ("pending", 1) and finished == ("running", 5)
    assert [step for _, step in pending] == sorted({step for _, step in pending})
    assert 60 <= cortecs_clock() <= 60.5
    assert provisioning.route.call_count <= 17


def test_steps_longer_than_the_longest_sleep_are_each_reported(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    Provisioning(router, cortecs_clock, step_seconds=20.0)
    seen: list[Instance] = []
    client.wait_until_running("instance-1", on_progress=seen.append)
    assert stages(seen) == [("pending", step) for step in range(1, 6)] + [("running", 5)]


def test_a_wait_knows_when_its_client_started_the_instance(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    serve_start(router, Provisioning(router, cortecs_clock, step_seconds=1.0))
    policy = Recording()
    seen: list[Instance] = []
    with Client(
        DEMO_CLIENT_ID,
        SECRET,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
        poll_policy=lambda: policy,
    ) as c:
        cortecs_clock.advance(100.0 - cortecs_clock())
        c.start(InstanceArgs(model_id=LLAMA_ID))
        cortecs_clock.sleep(0.5)
        c.wait_until_running("instance-1", on_progress=seen.append)
    assert policy.shown[0] == [
        Observation(100.0, LAUNCHED),
        Observation(100.0, "pending", 1, 5),  # what the start answered
        Observation(100.5, "pending", 1, 5),
    ]
    # Still step 1, as the start answered, yet the wait's first status is reported.
    assert stages(seen)[0] == ("pending", 1)


def test_a_known_launch_saves_requests(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    provisioning = Provisioning(router, cortecs_clock, step_seconds=1.0)
    serve_start(router, provisioning)
    requests: dict[str, list[int]] = {"started here": [], "started elsewhere": []}
    for phase in PHASES:
        for started_by in requests:
            if started_by == "started here":
                client.start(InstanceArgs(model_id=LLAMA_ID))
            else:
                provisioning.launched_at = cortecs_clock()
            before = provisioning.route.call_count
            cortecs_clock.sleep(phase)
            client.wait_until_running("instance-1")
            requests[started_by].append(provisioning.route.call_count - before)
            if started_by == "started here":
                assert cortecs_clock() - provisioning.running_since <= 0.5 + TOLERANCE
    known, unknown = requests["started here"], requests["started elsewhere"]
    assert statistics.median(known) <= 3 < statistics.median(unknown)


def test_the_launch_is_forgotten_once_the_wait_is_over(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    provisioning = Provisioning(router, cortecs_clock)
    serve_start(router, provisioning)
    policy = Recording()
    with Client(
        DEMO_CLIENT_ID,
        SECRET,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
        poll_policy=lambda: policy,
    ) as c:
        c.start(InstanceArgs(model_id=LLAMA_ID))
        c.wait_until_running("instance-1")
        assert policy.shown[-1][0].status == LAUNCHED
        provisioning.launched_at = cortecs_clock()  # restarted by someone else: no launch known
        policy.shown.clear()
        c.wait_until_running("instance-1")
    assert not any(o.status == LAUNCHED for shown in policy.shown for o in shown)


def test_a_restart_is_recorded_like_a_start(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    provisioning = Provisioning(router, cortecs_clock)
    provisioning.stopped_at = 0.0
    router.post("/instances/restart").mock(side_effect=provisioning.launch)
    policy = Recording()
    with Client(
        DEMO_CLIENT_ID,
        SECRET,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
        poll_policy=lambda: policy,
    ) as c:
        cortecs_clock.advance(50.0 - cortecs_clock())
        c.restart("instance-1")
        c.wait_until_running("instance-1")
    assert policy.shown[0][:2] == [
        Observation(50.0, LAUNCHED),
        Observation(50.0, "pending", 1, 5),
    ]


def test_a_deleted_instance_forgets_its_launch(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    provisioning = Provisioning(router, cortecs_clock)
    serve_start(router, provisioning)
    router.delete("/instances/instance-1").mock(
        return_value=httpx.Response(200, json={"instance_id": "instance-1"})
    )
    policy = Recording()
    with Client(
        DEMO_CLIENT_ID,
        SECRET,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
        poll_policy=lambda: policy,
    ) as c:
        c.start(InstanceArgs(model_id=LLAMA_ID))
        c.delete("instance-1")
        provisioning.launched_at = cortecs_clock()  # the id answers again, as if someone else's
        c.wait_until_running("instance-1")
    assert not any(o.status == LAUNCHED for shown in policy.shown for o in shown)


def test_wait_until_running_fails_fast_when_stopped(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    provisioning = Provisioning(router, cortecs_clock)
    provisioning.stopped_at = 20.0
    with pytest.raises(InstanceStoppedError, match="instance-1 was stopped"):
        client.wait_until_running("instance-1")
    assert cortecs_clock() < 30


def test_wait_timeout_names_the_last_status_and_step(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    Provisioning(router, cortecs_clock)
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait_until_running("instance-1", timeout=30)
    error = caught.value
    assert str(error) == (
        "Instance instance-1 was not running after 30 s; last status: pending, step 3/5 Step 3"
    )
    assert (error.instance_id, error.last_status) == ("instance-1", "pending")
    assert cortecs_clock() == 30.0


def test_wait_until_stopped(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    provisioning = Provisioning(router, cortecs_clock)
    provisioning.stopped_at = 3.0
    assert client.wait_until_stopped("instance-1").status == "stopped"
    assert cortecs_clock() == pytest.approx(3.5)


def test_a_vanished_instance_propagates(router: respx.MockRouter, client: Client) -> None:
    router.get("/instances/instance-1").mock(
        return_value=httpx.Response(404, json={"detail": "Instance instance-1 not found"})
    )
    with pytest.raises(NotFoundError):
        client.wait_until_running("instance-1")


def test_custom_poll_policy(router: respx.MockRouter, cortecs_clock: ManualClock) -> None:
    class Every(AdaptivePollPolicy):
        def next_delay(self, observations: Any) -> float:
            return 5.0

    provisioning = Provisioning(router, cortecs_clock)
    with Client(
        DEMO_CLIENT_ID,
        SECRET,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
        poll_policy=Every,
    ) as client:
        client.wait_until_running("instance-1")
    assert provisioning.route.call_count == 13
