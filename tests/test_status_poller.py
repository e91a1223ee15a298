"""One instance list per tick for every wait of a client: the poller alone, many waits on the
in-process fake in shared simulated time, and many waits on the fake served over HTTP."""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from pulumi_cortecs import Client
from pulumi_cortecs._exceptions import NotFoundError, OperationCancelled
from pulumi_cortecs.api._models import Instance, InstanceArgs, ReadList
from pulumi_cortecs.api._poller import StatusPoller
from pulumi_cortecs.api._polling import MINIMUM_GAP
from pulumi_cortecs.testing import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FakeBackend,
    mock_api,
    start_fake_api,
)

from tests import LLAMA, LLAMA_ID

T = TypeVar("T")
WAITS = 16
LIST = ("GET", "/api/v1/instances")
START = ("POST", "/api/v1/instances/start")


class LockstepClock:
    """Simulated time shared by ``parties`` threads: a sleep returns once every party is asleep
    (or has left) and time has jumped to its wake-up, so concurrent waits run deterministically
    and as if at once."""

    def __init__(self, parties: int) -> None:
        self._changed = threading.Condition()
        self._now = 0.0
        self._awake = parties
        self._wakeups: list[float] = []

    def __call__(self) -> float:
        with self._changed:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._changed:
            wake = self._now + seconds
            heapq.heappush(self._wakeups, wake)
            self._awake -= 1
            self._jump_once_all_sleep()
            while self._now < wake:
                self._changed.wait()

    def leave(self) -> None:
        with self._changed:
            self._awake -= 1
            self._jump_once_all_sleep()

    def _jump_once_all_sleep(self) -> None:
        if self._awake or not self._wakeups:
            return
        self._now = self._wakeups[0]
        while self._wakeups and self._wakeups[0] <= self._now:
            heapq.heappop(self._wakeups)
            self._awake += 1  # counted here, so that nobody jumps before they run
        self._changed.notify_all()


def in_parallel(clock: LockstepClock, work: Callable[[int], T], count: int) -> list[T]:
    def party(n: int) -> T:
        try:
            return work(n)
        finally:
            clock.leave()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(party, range(count)))


# The poller alone


class Lists:
    """A list function that counts its calls and may hold them until released."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls = 0
        self.error = error
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self) -> ReadList[Instance]:
        self.calls += 1
        self.entered.set()
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        return ReadList([])


def waiting_on(poller: StatusPoller, count: int) -> None:
    """Return once ``count`` threads wait for the list under way. Asked of the condition itself
    (CPython keeps its waiters in ``_waiters``): a sleep would order the threads only on an idle
    machine."""
    deadline = time.monotonic() + 10
    while len(poller._changed._waiters) < count:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"fewer than {count} waits on the list under way"
        time.sleep(0.001)


def test_a_list_sent_after_what_a_wait_accepts_is_shared() -> None:
    now = [10.0]
    lists = Lists()
    poller = StatusPoller(lists, lambda: now[0])
    first = poller.listing(after=9.0)
    assert poller.listing(after=9.5) is first and lists.calls == 1
    # Sent when the asker began is not after it: whatever it did before may not show yet.
    assert poller.listing(after=10.0) is not first and lists.calls == 2


def test_waits_that_ask_while_a_list_is_under_way_take_it_or_the_next() -> None:
    now = [10.0]
    lists = Lists()
    lists.release.clear()
    poller = StatusPoller(lists, lambda: now[0])
    with ThreadPoolExecutor(max_workers=3) as pool:
        sent = pool.submit(poller.listing, 9.0)
        assert lists.entered.wait(10)
        taken = pool.submit(poller.listing, 9.5)  # sent late enough: it takes the one under way
        waiting_on(poller, 1)  # it asks before the next asker sends a newer list
        now[0] = 11.0
        fresher = pool.submit(poller.listing, 10.5)  # needs one sent after 10.5: the next
        waiting_on(poller, 2)
        lists.release.set()
        # The one under way, or, if the fresher asker's list came back before it woke, that
        # one: never a third list.
        assert taken.result() in (sent.result(), fresher.result())
        assert fresher.result().sent == 11.0
    assert lists.calls == 2


def test_a_failed_list_ends_every_wait_that_took_it() -> None:
    lists = Lists(OperationCancelled("cancelled"))
    lists.release.clear()
    poller = StatusPoller(lists, lambda: 10.0)
    with ThreadPoolExecutor(max_workers=4) as pool:
        sender = pool.submit(poller.listing, 9.0)
        assert lists.entered.wait(10)
        takers = [pool.submit(poller.listing, 9.0) for _ in range(3)]
        waiting_on(poller, 3)
        lists.release.set()
        for listing in [sender, *takers]:
            with pytest.raises(OperationCancelled):
                listing.result().answer()
    assert lists.calls == 1


# Many waits, the in-process fake


@pytest.fixture
def lockstep() -> LockstepClock:
    return LockstepClock(WAITS)


@pytest.fixture
def backend(lockstep: LockstepClock) -> Iterator[FakeBackend]:
    with mock_api(FakeBackend(clock=lockstep)) as fake:
        yield fake


@pytest.fixture
def client(lockstep: LockstepClock, backend: FakeBackend) -> Iterator[Client]:
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, sleep=lockstep.sleep, clock=lockstep) as client:
        yield client


def waits_after_starts(backend: FakeBackend) -> list[tuple[str, str]]:
    """The calls after the last start: the waits' (every start comes first, at time 0)."""
    last_start = max(i for i, call in enumerate(backend.calls) if call == START)
    return backend.calls[last_start + 1 :]


def test_concurrent_waits_cost_one_list_per_tick_and_each_sees_its_steps(
    lockstep: LockstepClock, backend: FakeBackend, client: Client
) -> None:
    def boot(n: int) -> tuple[Instance, list[Instance], float]:
        seen: list[Instance] = []
        instance_id = client.start(InstanceArgs(model_id=LLAMA)).instance_id
        instance = client.wait_until_running(instance_id, on_progress=seen.append)
        return instance, seen, lockstep() - backend.instances[instance_id].running_since

    booted = in_parallel(lockstep, boot, WAITS)
    asked = waits_after_starts(backend)
    assert set(asked) == {LIST}, "no instance is asked about alone"
    # 5 x 1 s steps: running at 5 s, seen on the list of the sixth tick (5.7 s).
    assert len(asked) == math.ceil(5.0 / MINIMUM_GAP)
    for instance, seen, lag in booted:
        assert instance.status == "running" and 0 <= lag <= 1.0
        steps = [i.instance_status.init_progress.current_step for i in seen[:-1]]  # type: ignore[union-attr]
        assert steps == [1, 2, 3, 4, 5] and seen[-1].status == "running"


def test_a_glitching_list_sends_the_waits_to_their_instances_for_that_tick(
    lockstep: LockstepClock, backend: FakeBackend, client: Client
) -> None:
    # Once every instance is started, the next list (the first tick's) answers a maintenance page.
    started = threading.Barrier(
        WAITS, action=lambda: backend.faults.inject("html_body", path="/instances", method="GET")
    )

    def boot(n: int) -> tuple[str, Instance]:
        instance_id = client.start(InstanceArgs(model_id=LLAMA)).instance_id
        started.wait()
        return instance_id, client.wait_until_running(instance_id)

    booted = in_parallel(lockstep, boot, WAITS)
    assert {instance.status for _, instance in booted} == {"running"}
    asked = waits_after_starts(backend)
    singles = sorted(call for call in asked if call != LIST)
    assert singles == sorted(("GET", f"/api/v1/instances/{i}") for i, _ in booted)
    assert asked.count(LIST) == math.ceil(5.0 / MINIMUM_GAP)


def test_an_instance_gone_from_the_list_is_gone_only_under_the_404_rules(
    lockstep: LockstepClock, backend: FakeBackend, client: Client
) -> None:
    ids = [backend.start(model_id=LLAMA_ID).instance_id for _ in range(WAITS)]
    gone = ids[0]
    backend.delete_instance(gone)

    def wait(n: int) -> str:
        try:
            return client.wait_until_running(ids[n]).status
        except NotFoundError as error:
            return str(error)

    outcomes = in_parallel(lockstep, wait, WAITS)
    assert outcomes[1:] == ["running"] * (WAITS - 1)
    assert outcomes[0].startswith(f"Instance {gone} no longer exists: GET /instances/{gone} ")
    assert "answered 404 3 times over 1.9 s" in outcomes[0]
    assert backend.calls.count(("GET", f"/api/v1/instances/{gone}")) == 3


# Many waits, the fake served over HTTP


def test_concurrent_waits_over_http_share_the_list() -> None:
    with (
        start_fake_api("--step-seconds", "0.3") as fake,
        Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, fake.api_base_url) as client,
        ThreadPoolExecutor(max_workers=WAITS) as pool,
    ):
        ids = [client.start(InstanceArgs(model_id=LLAMA)).instance_id for _ in range(WAITS)]
        began = time.monotonic()
        booted = list(pool.map(client.wait_until_running, ids))
        seconds = time.monotonic() - began
        calls = [tuple(call) for call in fake.state()["calls"]]
    assert {instance.status for instance in booted} == {"running"}
    asked = calls[max(i for i, call in enumerate(calls) if call == START) + 1 :]
    assert set(asked) == {LIST}, "no instance is asked about alone"
    # About one list per gap, however many wait; never one per wait.
    assert len(asked) <= seconds / MINIMUM_GAP + 2 < WAITS
