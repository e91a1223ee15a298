"""The poll policy, over a matrix of step timings on the in-process fake, and the client's waits
that use it."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from pulumi_cortecs import Client
from pulumi_cortecs._exceptions import InstanceStoppedError, NotFoundError, WaitTimeoutError
from pulumi_cortecs.api._models import Instance, InstanceArgs
from pulumi_cortecs.api._polling import (
    MINIMUM_GAP,
    UNCONFIRMED,
    Observation,
    ProportionalPollPolicy,
)
from pulumi_cortecs.testing import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FakeBackend,
    ManualClock,
    mock_api,
)

from tests import BASE, LLAMA, LLAMA_ID
from tests._client_helpers import (
    SECRET,
    instance_json,
    mock_model_detail,
    token_response,
)

PHI = "microsoft/Phi-3.5-mini-instruct"  # the fake's catalog marks it instantly provisioned

# Step timings an API might have, by what dominates: (seconds per step, running at the "end"
# of the last step or as it "start"s). About ten seconds, then longer.
TIMINGS: dict[str, tuple[list[float], str]] = {
    "equal-end": ([2.0] * 5, "end"),
    "equal-start": ([2.5] * 5, "start"),
    "download-dominates": ([0.5, 1.0, 6.0, 2.0, 0.5], "end"),
    "loading-dominates": ([0.5, 0.5, 1.0, 7.5, 0.5], "start"),
    "allocation-dominates": ([7.0, 0.5, 0.5, 1.0, 1.0], "end"),
    "off-grid": ([2.3] * 5, "end"),
    "equal-minute": ([12.0] * 5, "end"),
    "unequal-minutes": ([30.0, 5.0, 120.0, 60.0, 10.0], "start"),
    "gpus-queued": ([600.0, 10.0, 30.0, 20.0, 10.0], "end"),
    "half-hour": ([5.0, 10.0, 900.0, 600.0, 60.0], "end"),
}
WAIT_BEGINS_AFTER = [0.0, 0.37, 3.1]  # seconds between the start's answer and the wait


def allowed_lag(provisioning: float) -> float:
    """The promise: at most a second late for a boot of about ten seconds, a tenth of it for
    longer ones."""
    return max(1.0, 0.1 * provisioning)


def status_requests(backend: FakeBackend, instance_id: str) -> int:
    """What waits asked about the instance: lists (after its start's, if any) and its own GETs."""
    start = ("POST", "/api/v1/instances/start")
    since = backend.calls.index(start) + 1 if start in backend.calls else 0
    asked = backend.calls[since:]
    return asked.count(("GET", "/api/v1/instances")) + asked.count(
        ("GET", f"/api/v1/instances/{instance_id}")
    )


@pytest.fixture
def fake_client(cortecs_clock: ManualClock) -> Iterator[Client]:
    with Client(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, sleep=cortecs_clock.sleep, clock=cortecs_clock
    ) as client:
        yield client


@dataclass
class Waited:
    """One boot and the wait on it: seconds late, and status requests per second waited."""

    lag: float
    boot: float
    requests: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def boot_and_wait(
    backend: FakeBackend, clock: ManualClock, client: Client, begins_after: float = 0.0
) -> Waited:
    """Start an instance as ``backend`` is configured, wait for it ``begins_after`` later."""
    started_at = clock()
    instance_id = client.start(InstanceArgs(model_id=LLAMA)).instance_id
    clock.advance(begins_after)
    client.wait_until_running(instance_id, timeout=3600)
    running_since = backend.instances[instance_id].running_since
    return Waited(
        lag=clock() - running_since,
        boot=running_since - started_at,
        requests=status_requests(backend, instance_id),
        seconds=clock() - started_at,
    )


@pytest.mark.parametrize("begins_after", WAIT_BEGINS_AFTER)
@pytest.mark.parametrize(("steps", "running_at"), TIMINGS.values(), ids=TIMINGS.keys())
def test_a_wait_sees_running_within_a_tenth_of_the_boot_or_a_second_whatever_the_steps(
    cortecs_mock: FakeBackend,
    cortecs_clock: ManualClock,
    fake_client: Client,
    steps: list[float],
    running_at: str,
    begins_after: float,
) -> None:
    cortecs_mock.configure(step_seconds=steps, running_at=running_at)
    waited = boot_and_wait(cortecs_mock, cortecs_clock, fake_client, begins_after)
    assert 0 <= waited.lag <= allowed_lag(waited.boot)
    assert waited.requests <= waited.seconds / MINIMUM_GAP  # never two within a gap


def test_over_the_matrix_a_wait_asks_at_most_once_a_second_on_average() -> None:
    rates = []
    for steps, running_at in TIMINGS.values():
        clock = ManualClock()
        backend = FakeBackend(clock=clock, step_seconds=steps, running_at=running_at)
        with (
            mock_api(backend),
            Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, sleep=clock.sleep, clock=clock) as client,
        ):
            rates.append(boot_and_wait(backend, clock, client).rate)
    assert statistics.mean(rates) <= 1.0
    # A boot of about ten seconds gets one every 0.95 s; longer ones far fewer.
    assert max(rates) == pytest.approx(1 / MINIMUM_GAP) and min(rates) < 0.25


@pytest.mark.parametrize(("steps", "running_at"), TIMINGS.values(), ids=TIMINGS.keys())
def test_a_wait_on_an_instance_started_elsewhere_keeps_the_same_promise(
    cortecs_mock: FakeBackend,
    cortecs_clock: ManualClock,
    fake_client: Client,
    steps: list[float],
    running_at: str,
) -> None:
    cortecs_mock.configure(step_seconds=steps, running_at=running_at)
    instance_id = cortecs_mock.start(model_id=LLAMA_ID).instance_id  # not by this client
    cortecs_clock.advance(0.37)
    began = cortecs_clock()
    fake_client.wait_until_running(instance_id, timeout=3600)
    running_since = cortecs_mock.instances[instance_id].running_since
    assert 0 <= cortecs_clock() - running_since <= allowed_lag(running_since)
    # Its first request goes out at once: it knows nothing yet.
    requests = status_requests(cortecs_mock, instance_id)
    assert requests <= (cortecs_clock() - began) / MINIMUM_GAP + 1


def test_an_instant_model_is_seen_running_at_once(
    cortecs_mock: FakeBackend, cortecs_clock: ManualClock, fake_client: Client
) -> None:
    cortecs_mock.configure(instant_models=True)
    started = fake_client.start(InstanceArgs(model_id=PHI))
    assert started.status == "running"
    fake_client.wait_until_running(started.instance_id)
    assert cortecs_clock.sleeps == []
    assert status_requests(cortecs_mock, started.instance_id) == 1


def test_the_gap_grows_with_the_wait_from_under_a_second_to_five() -> None:
    policy = ProportionalPollPolicy()
    delays = [
        policy.next_delay([Observation(0.0, "pending", 1, 5), Observation(t, "pending", 1, 5)])
        for t in (0.0, 5.0, 10.0, 30.0, 50.0, 3000.0)
    ]
    assert delays == [MINIMUM_GAP, MINIMUM_GAP, 1.0, 3.0, 5.0, 5.0]


def test_the_steps_do_not_move_the_cadence() -> None:
    # Nothing about the steps says when the instance will run: no bet is made on them.
    policy = ProportionalPollPolicy()
    first = Observation(0.0, "pending", 1, 5)
    delays = {
        policy.next_delay([first, Observation(40.0, "pending", step, 5)]) for step in (1, 3, 5)
    }
    assert delays == {4.0}


def test_an_answer_that_confirmed_nothing_is_asked_again_after_the_shortest_gap() -> None:
    policy = ProportionalPollPolicy()
    seen = [Observation(0.0, "pending", 1, 5), Observation(600.0, "pending", 2, 5)]
    assert policy.next_delay(seen) == 5.0
    assert policy.next_delay([*seen, Observation(605.0, UNCONFIRMED)]) == MINIMUM_GAP


def test_a_policy_with_bounds_that_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="minimum"):
        ProportionalPollPolicy(minimum=5.0, maximum=1.0)


# The client's waits, against precise answers


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
        self.listed = router.get("/instances/").mock(side_effect=self.respond_listed)

    @property
    def requests(self) -> int:
        """Status requests: lists, and GETs of the instance."""
        return int(self.route.call_count + self.listed.call_count)

    @property
    def running_since(self) -> float:
        return self.launched_at + 5 * self.step_seconds

    def launch(self, request: httpx.Request) -> httpx.Response:
        self.launched_at, self.stopped_at = self.clock(), None
        return self.respond(request)

    def respond(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"instance": self.state()})

    def respond_listed(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"instances": [self.state()]})

    def state(self) -> dict[str, Any]:
        now = self.clock()
        if self.stopped_at is not None and now >= self.stopped_at:
            return instance_json(status="stopped", step=None, shape=self.shape)
        if now >= self.running_since:
            return instance_json(status="running", step=5, shape=self.shape)
        step = int((now - self.launched_at) // self.step_seconds) + 1
        return instance_json(step=step, shape=self.shape)


def serve_start(router: respx.MockRouter, provisioning: Provisioning) -> None:
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
def cortecs_credentials() -> tuple[str, str]:
    """``client`` (the plugin's ``cortecs_client``) signs in with a canary secret."""
    return DEMO_CLIENT_ID, SECRET


@pytest.mark.parametrize("shape", ["newer", "older"])
def test_wait_until_running_reports_each_step_it_sees(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock, shape: str
) -> None:
    provisioning = Provisioning(router, cortecs_clock, shape)
    seen: list[Instance] = []
    instance = client.wait_until_running("instance-1", on_progress=seen.append)
    assert instance.status == "running" and instance.base_url
    # Gaps stay within 5 s, so every 12 s step is seen, once.
    assert stages(seen) == [("pending", step) for step in range(1, 6)] + [("running", 5)]
    assert 60 <= cortecs_clock() <= 60 + allowed_lag(60)
    assert provisioning.requests <= 31


def test_steps_longer_than_the_longest_gap_are_each_reported(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    Provisioning(router, cortecs_clock, step_seconds=40.0)
    seen: list[Instance] = []
    client.wait_until_running("instance-1", on_progress=seen.append)
    assert stages(seen) == [("pending", step) for step in range(1, 6)] + [("running", 5)]


def test_a_wait_knows_when_its_client_started_the_instance(
    router: respx.MockRouter, cortecs_clock: ManualClock
) -> None:
    serve_start(router, Provisioning(router, cortecs_clock))
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
    # What the start answered, observed when it was sent: the wait's first request waits for
    # the policy's first gap from there (0.5 s are left of it), not a gap from now.
    assert policy.shown[0] == [Observation(100.0, "pending", 1, 5)]
    assert policy.shown[1] == [
        Observation(100.0, "pending", 1, 5),
        Observation(101.0, "pending", 1, 5),
    ]
    # Still step 1, as the start answered, yet the wait's first status is reported.
    assert stages(seen)[0] == ("pending", 1)


def test_a_wait_that_begins_long_after_its_start_backs_off_from_the_start(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    provisioning = Provisioning(router, cortecs_clock)
    serve_start(router, provisioning)
    requests = {}
    for started_by in ("this client", "someone else"):
        if started_by == "this client":
            client.start(InstanceArgs(model_id=LLAMA_ID))
        else:
            provisioning.launched_at = cortecs_clock()
        before = provisioning.requests
        cortecs_clock.advance(30.0)
        client.wait_until_running("instance-1")
        requests[started_by] = provisioning.requests - before
        assert cortecs_clock() - provisioning.running_since <= allowed_lag(60)
    # It knows the instance has been coming up for 30 s already, so its gaps start at 3 s.
    assert requests == {"this client": 9, "someone else": 24}


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
        assert policy.shown[-1][0].time == 0.0  # the start
        provisioning.launched_at = cortecs_clock()  # restarted by someone else: no launch known
        policy.shown.clear()
        began = cortecs_clock()
        c.wait_until_running("instance-1")
    assert {shown[0].time for shown in policy.shown} == {began}


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
    assert policy.shown[0] == [Observation(50.0, "pending", 1, 5)]


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
        cortecs_clock.advance(5.0)
        c.delete("instance-1")
        provisioning.launched_at = cortecs_clock()  # the id answers again, as if someone else's
        c.wait_until_running("instance-1")
    assert {shown[0].time for shown in policy.shown} == {5.0}


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
    assert cortecs_clock() == pytest.approx(4 * MINIMUM_GAP)  # the first request after 3 s


def test_an_instance_answered_404_and_not_listed_is_gone(
    router: respx.MockRouter, client: Client, cortecs_clock: ManualClock
) -> None:
    status = router.get("/instances/instance-1").mock(
        return_value=httpx.Response(404, json={"detail": "Instance instance-1 not found"})
    )
    router.get("/instances/").mock(return_value=httpx.Response(200, json={"instances": []}))
    with pytest.raises(NotFoundError, match=r"answered 404 3 times over 1\.9 s and the instance"):
        client.wait_until_running("instance-1")
    assert status.call_count == 3 and cortecs_clock() == pytest.approx(2 * MINIMUM_GAP)


def test_custom_poll_policy(router: respx.MockRouter, cortecs_clock: ManualClock) -> None:
    class Every:
        def next_delay(self, observations: Sequence[Observation]) -> float:
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
    assert provisioning.requests == 13
