"""The fake's fault knobs, in-process: scripted failures, drops, latency and random faults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock, mock_api

from tests import BASE, LLAMA_ID, signed_in


@pytest.fixture
def http(cortecs_mock: FakeBackend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=BASE) as client:
        yield signed_in(client)


def test_fail_next_with_retry_after_and_filters(
    http: httpx.Client, cortecs_mock: FakeBackend
) -> None:
    cortecs_mock.faults.fail_next(429, times=2, path="/instances/start", retry_after=0.5)
    assert http.get("/models/").status_code == 200  # other paths are untouched
    for _ in range(2):
        refused = http.post("/instances/start", json={"model_id": LLAMA_ID})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "0.5"
        assert "detail" in refused.json()
    assert cortecs_mock.instances == {}  # a failed call has no effect
    assert http.post("/instances/start", json={"model_id": LLAMA_ID}).status_code == 200

    cortecs_mock.faults.fail_next(503, method="GET", path="/api/v1/instances/")
    assert http.post("/instances/stop-all").status_code == 200
    assert http.get("/instances").status_code == 503
    assert http.get("/instances").status_code == 200
    assert cortecs_mock.faults.counts() == {"429": 2, "503": 1}


def test_drop_before_processing_is_a_connect_error(
    http: httpx.Client, cortecs_mock: FakeBackend
) -> None:
    cortecs_mock.faults.drop_next(path="/instances/start")
    with pytest.raises(httpx.ConnectError):
        http.post("/instances/start", json={"model_id": LLAMA_ID})
    assert cortecs_mock.instances == {} and cortecs_mock.starts == 0


def test_lost_start_response_still_creates_the_instance(
    http: httpx.Client, cortecs_mock: FakeBackend
) -> None:
    cortecs_mock.faults.lose_next_start_response()
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        http.post("/instances/start", json={"model_id": LLAMA_ID})
    assert list(cortecs_mock.instances) == ["instance-1"]
    listed = http.get("/instances/").json()["instances"]
    assert [i["instance_id"] for i in listed] == ["instance-1"]


def test_drop_after_processing_on_any_call(http: httpx.Client, cortecs_mock: FakeBackend) -> None:
    http.post("/instances/start", json={"model_id": LLAMA_ID})
    cortecs_mock.faults.drop_next(method="POST", path="/instances/stop", after_processing=True)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/instances/stop", json={"instance_id": "instance-1"})
    assert cortecs_mock.snapshot()["instances"][0]["status"] == "stopped"


def test_latency_goes_through_the_injected_sleep(
    http: httpx.Client, cortecs_mock: FakeBackend, cortecs_clock: ManualClock
) -> None:
    cortecs_mock.faults.latency = 2.5
    before = cortecs_clock()
    http.get("/models/")
    assert cortecs_clock() - before == 2.5
    cortecs_mock.faults.clear()
    http.get("/models/")
    assert cortecs_clock() - before == 2.5


def test_latency_uses_an_explicit_sleep() -> None:
    slept: list[float] = []
    with mock_api(sleep=slept.append) as cortecs_mock:
        cortecs_mock.faults.latency = 0.25
        httpx.get(f"{BASE}/models")
    assert slept == [0.25]


def _run_random(seed: int) -> tuple[list[str], dict[str, int]]:
    """A fixed sequence of calls against a randomly faulty fake; what each call saw."""
    outcomes = []
    with mock_api(clock=ManualClock()) as cortecs_mock, httpx.Client(base_url=BASE) as http:
        signed_in(http)
        cortecs_mock.faults.set_random(0.5, seed)
        for i in range(40):
            try:
                if i % 4 == 0:
                    response = http.post("/instances/start", json={"model_id": LLAMA_ID})
                else:
                    response = http.get("/instances/")
                outcomes.append(str(response.status_code))
            except httpx.TransportError as error:
                outcomes.append(type(error).__name__)
        return outcomes, cortecs_mock.faults.counts()


def test_random_faults_are_reproducible_by_seed() -> None:
    first, counts = _run_random(seed=7)
    assert _run_random(seed=7) == (first, counts)
    assert _run_random(seed=8)[0] != first
    assert sum(counts.values()) > 5
    assert {"429", "500", "502", "503", "drop", "slow", "token_expiry"} & set(counts)
    assert set(counts) <= {"429", "500", "502", "503", "drop", "slow", "token_expiry", "lost_start"}


def test_random_kinds_filter_and_token_expiry(
    http: httpx.Client, cortecs_mock: FakeBackend
) -> None:
    cortecs_mock.faults.set_random(1.0, seed=1, kinds=["token_expiry"])
    assert http.get("/instances/").status_code == 401
    assert http.get("/models/").status_code == 200  # public endpoints need no token

    cortecs_mock.faults.set_random(1.0, seed=1, kinds=["lost_start"])
    signed_in(http)
    assert http.get("/models/").status_code == 200  # lost_start only hits starts
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/instances/start", json={"model_id": LLAMA_ID})
    assert cortecs_mock.starts == 1

    cortecs_mock.faults.set_random(1.0, seed=1, kinds=["429"])
    limited = http.get("/models/")
    assert limited.status_code == 429 and float(limited.headers["retry-after"]) > 0
    assert cortecs_mock.faults.counts() == {"token_expiry": 2, "lost_start": 1, "429": 1}


def test_slow_fault_sleeps(
    http: httpx.Client, cortecs_mock: FakeBackend, cortecs_clock: ManualClock
) -> None:
    cortecs_mock.faults.set_random(1.0, seed=3, kinds=["slow"])
    before = cortecs_clock()
    assert http.get("/models/").status_code == 200
    assert cortecs_clock() - before == cortecs_mock.faults.slow_seconds


def test_serving_and_admin_are_never_faulted(http: httpx.Client, cortecs_mock: FakeBackend) -> None:
    cortecs_mock.faults.fail_next(500, times=5)
    # The instance endpoints are outside /api/v1: the 404 is the instance's own answer.
    assert http.get("https://cortecs.ai/serve/instance-9/v1/models").status_code == 404
    assert cortecs_mock.faults.counts() == {}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.fail_next(200), "4xx or 5xx"),
        (lambda f: f.drop_next(times=0), "at least 1"),
        (lambda f: f.set_random(0.1, 1, kinds=["teapot"]), "unknown fault kinds"),
        (lambda f: f.set_random(1.5, 1), "between 0 and 1"),
    ],
)
def test_fault_arguments_are_checked(cortecs_mock: FakeBackend, call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(cortecs_mock.faults)  # type: ignore[operator]
