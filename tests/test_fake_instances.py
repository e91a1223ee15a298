"""Instance rules of the fake: start validation and defaults, lifecycle by clock, shapes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pulumi_cortecs.api._models import PENDING, RUNNING, STOPPED, Instance
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock, mock_api

from tests import BASE, LLAMA_ID, signed_in

QWEN = "Qwen--Qwen2.5-72B-Instruct"


@pytest.fixture
def backend(cortecs_clock: ManualClock) -> Iterator[FakeBackend]:
    with mock_api(clock=cortecs_clock, step_seconds=10.0) as fake:
        yield fake


@pytest.fixture
def http(backend: FakeBackend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=BASE) as client:
        yield signed_in(client)


def start(http: httpx.Client, **body: object) -> Instance:
    response = http.post("/instances/start", json={"model_id": LLAMA_ID, **body})
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Instance is starting."
    return Instance.model_validate(response.json()["instance"])


def get(http: httpx.Client, instance_id: str) -> Instance:
    response = http.get(f"/instances/{instance_id}")
    assert response.status_code == 200, response.text
    return Instance.model_validate(response.json()["instance"])


def test_start_applies_defaults(http: httpx.Client, backend: FakeBackend) -> None:
    instance = start(http)
    assert instance.instance_id == "instance-1"
    assert instance.status == PENDING and instance.base_url is None
    assert backend.instances["instance-1"].args == {
        "model_id": LLAMA_ID,
        "hardware_type_id": "NVIDIA_L4_1",
        "context_length": 16000,
        "billing_interval": "per_minute",
        "num_workers": 1,
    }
    # On hardware allowing more, the default context length is capped at 32000.
    big = start(http, hardware_type_id="NVIDIA_H100_1")
    assert big.instance_args.context_length == 32000
    assert backend.starts == 2


def test_start_takes_explicit_arguments(http: httpx.Client, backend: FakeBackend) -> None:
    start(
        http,
        model_id=QWEN,
        hardware_type_id="NVIDIA_A100_2",
        context_length=8192,
        billing_interval="per_hour",
        num_workers=3,
        context_length_unknown_key="ignored",
    )
    assert backend.instances["instance-1"].args == {
        "model_id": QWEN,
        "hardware_type_id": "NVIDIA_A100_2",
        "context_length": 8192,
        "billing_interval": "per_hour",
        "num_workers": 3,
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["model_id"]),
        ({"model_id": "nobody--nothing"}, ["model_id", LLAMA_ID]),
        (
            {"model_id": QWEN, "hardware_type_id": "NVIDIA_L4_1"},
            ["hardware_type_id", "NVIDIA_A100_2", "NVIDIA_H100_2"],
        ),
        ({"model_id": LLAMA_ID, "hardware_type_id": ["x"]}, ["hardware_type_id"]),
        ({"model_id": LLAMA_ID, "context_length": 0}, ["context_length", "positive"]),
        ({"model_id": LLAMA_ID, "context_length": "8k"}, ["context_length"]),
        ({"model_id": LLAMA_ID, "context_length": True}, ["context_length"]),
        ({"model_id": LLAMA_ID, "context_length": 16001}, ["context_length", "16000"]),
        ({"model_id": LLAMA_ID, "billing_interval": "weekly"}, ["per_minute", "per_hour"]),
        ({"model_id": LLAMA_ID, "num_workers": 0}, ["num_workers", "1", "8"]),
        ({"model_id": LLAMA_ID, "num_workers": 9}, ["num_workers"]),
        ({"model_id": LLAMA_ID, "num_workers": 1.5}, ["num_workers"]),
    ],
)
def test_start_validation(
    http: httpx.Client, backend: FakeBackend, body: dict[str, object], words: list[str]
) -> None:
    response = http.post("/instances/start", json=body)
    assert response.status_code == 400
    detail = response.json()["detail"]
    for word in words:
        assert word in detail
    assert backend.instances == {} and backend.starts == 0


def test_malformed_start_body_is_400(http: httpx.Client) -> None:
    response = http.post("/instances/start", content=b"[1, 2")
    assert response.status_code == 400
    assert response.json() == {"detail": "request body is not valid JSON"}


def test_lifecycle_walks_steps_by_the_clock(http: httpx.Client, cortecs_clock: ManualClock) -> None:
    started_at = cortecs_clock()
    instance = start(http)
    steps = []
    for _ in range(5):
        progress = get(http, instance.instance_id).instance_status.init_progress
        assert progress is not None
        steps.append((progress.current_step, progress.description))
        cortecs_clock.advance(10)
    assert [s for s, _ in steps] == [1, 2, 3, 4, 5]
    assert steps[0][1] == "Allocating hardware" and steps[4][1] == "Warming up"

    running = get(http, instance.instance_id)
    assert running.status == RUNNING
    assert running.base_url == f"https://cortecs.ai/serve/{instance.instance_id}/v1"
    assert running.instance_status.init_progress is not None
    assert running.instance_status.init_progress.description == "Running"
    assert running.instance_status.started_at is not None
    assert running.instance_status.started_at.timestamp() == started_at + 50
    assert (
        http.get(f"/instances/{instance.instance_id}")
        .json()["instance"]["instance_status"]["started_at"]
        .endswith("Z")
    )


def test_stop_restart_delete_rules(
    http: httpx.Client, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    instance_id = start(http).instance_id
    body = {"instance_id": instance_id}
    assert http.post("/instances/restart", json=body).status_code == 400
    assert http.delete(f"/instances/{instance_id}").status_code == 400

    stopped = http.post("/instances/stop", json=body).json()["instance"]
    assert stopped["instance_status"]["status"] == STOPPED
    assert stopped["instance_status"]["stopped_at"] is not None
    assert stopped["base_url"] is None
    assert stopped["worker_statuses"] == [{"init_progress": None}]
    again = http.post("/instances/stop", json=body)
    assert again.status_code == 200
    assert again.json()["instance"]["instance_status"]["status"] == STOPPED

    cortecs_clock.advance(100)
    restarted = Instance.model_validate(
        http.post("/instances/restart", json=body).json()["instance"]
    )
    assert restarted.status == PENDING
    assert restarted.instance_status.init_progress is not None
    assert restarted.instance_status.init_progress.current_step == 1
    assert restarted.instance_status.stopped_at is None

    http.post("/instances/stop", json=body)
    assert http.delete(f"/instances/{instance_id}").json() == {"instance_id": instance_id}
    assert backend.deleted_ids == {instance_id} and backend.instances == {}
    for response in (
        http.get(f"/instances/{instance_id}"),
        http.delete(f"/instances/{instance_id}"),
        http.post("/instances/stop", json=body),
    ):
        assert response.status_code == 404
    assert http.post("/instances/stop", json={}).status_code == 400


def test_ids_are_never_reused(http: httpx.Client, backend: FakeBackend) -> None:
    first = start(http).instance_id
    backend.delete_instance(first)
    backend.reset()
    assert start(http).instance_id != first


@pytest.mark.parametrize("era", ["today", "seed"])
def test_list_stop_all_and_delete_all(http: httpx.Client, backend: FakeBackend, era: str) -> None:
    backend.configure(api_era=era)
    ids = [start(http).instance_id for _ in range(3)]
    listed = http.get("/instances/").json()["instances"]
    assert [i["instance_id"] for i in listed] == ids
    assert http.get("/instances").status_code == 200  # without the slash, as cortecs-py's tests

    backend.stop_instance(ids[0])
    assert http.delete("/instances/delete-all").json() == {"instance_ids": [ids[0]]}
    # As cortecs-py sends it: no body at all.
    stopped = http.post("/instances/stop-all")
    assert stopped.json()["instance_ids"] == ids[1:]
    assert ("message" in stopped.json()) == (era == "today")
    assert http.post("/instances/stop-all").json()["instance_ids"] == []

    third = start(http).instance_id
    assert (
        http.delete("/instances/delete-all", params={"force_deletion": "maybe"}).status_code == 400
    )
    # Python's requests renders a bool as "True"/"False".
    kept = http.delete("/instances/delete-all", params={"force_deletion": "False"})
    assert kept.json() == {"instance_ids": ids[1:]}  # the stopped ones only
    forced = http.delete("/instances/delete-all", params={"force_deletion": "True"})
    assert forced.json() == {"instance_ids": [third]}
    assert backend.instances == {}


def test_explicit_nulls_in_a_start_mean_the_defaults(
    http: httpx.Client, backend: FakeBackend
) -> None:
    nulls = dict.fromkeys(("hardware_type_id", "context_length", "billing_interval", "num_workers"))
    start(http, **nulls)
    assert backend.instances["instance-1"].args == {
        "model_id": LLAMA_ID,
        "hardware_type_id": "NVIDIA_L4_1",
        "context_length": 16000,
        "billing_interval": "per_minute",
        "num_workers": 1,
    }


@pytest.mark.parametrize(
    ("era", "shape"), [("today", "newer"), ("today", "older"), ("seed", "newer"), ("seed", "older")]
)
def test_every_era_and_shape_parses(
    http: httpx.Client, backend: FakeBackend, cortecs_clock: ManualClock, era: str, shape: str
) -> None:
    backend.configure(api_era=era, response_shape=shape)
    instance_id = start(http, num_workers=2).instance_id
    cortecs_clock.advance(25)
    raw = http.get(f"/instances/{instance_id}").json()["instance"]
    assert "base_url" in raw
    if era == "today":
        assert raw["instance_args"]["num_workers"] == 2
        assert len(raw["worker_statuses"]) == 2
        assert ("init_progress" in raw["instance_status"]) == (shape == "older")
    elif shape == "newer":
        assert "num_workers" not in raw["instance_args"]
        assert "init_progress" not in raw["instance_status"]
        assert len(raw["worker_statuses"]) == 2
    else:
        assert raw["instance_args"]["num_workers"] == 2
        assert "worker_statuses" not in raw
    parsed = Instance.model_validate(raw)
    assert parsed.instance_args.num_workers == 2
    assert parsed.instance_status.init_progress is not None
    assert parsed.instance_status.init_progress.current_step == 3


def test_todays_instances_carry_what_cortecs_py_requires(
    http: httpx.Client, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    instance_id = start(http).instance_id
    pending = http.get(f"/instances/{instance_id}").json()["instance"]
    assert pending["base_url"] is None
    assert set(pending["instance_args"]) == {
        "model_id",
        "hardware_type_id",
        "context_length",
        "billing_interval",
        "num_workers",
    }
    first = {"current_step": 1, "num_steps": 5, "description": "Allocating hardware"}
    assert pending["worker_statuses"] == [{"init_progress": first}]
    cortecs_clock.advance(50)
    running = http.get(f"/instances/{instance_id}").json()["instance"]
    assert running["base_url"] is not None
    # A running instance keeps its last step, so a poll that ends on n of n sees it.
    last = {"current_step": 5, "num_steps": 5, "description": "Running"}
    assert running["worker_statuses"] == [{"init_progress": last}]
    backend.stop_instance(instance_id)
    stopped = http.get(f"/instances/{instance_id}").json()["instance"]
    assert stopped["worker_statuses"] == [{"init_progress": None}]
    assert stopped["instance_status"]["stopped_at"] is not None


def test_out_of_band_helpers_and_snapshot(
    http: httpx.Client, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    running, stopped = start(http).instance_id, start(http).instance_id
    cortecs_clock.advance(50)
    backend.stop_instance(stopped)
    snapshot = backend.snapshot()
    assert [(i["instance_id"], i["status"], i["step"]) for i in snapshot["instances"]] == [
        (running, RUNNING, 5),
        (stopped, STOPPED, None),
    ]
    assert snapshot["starts"] == 2 and snapshot["token_fetches"] == 1
    backend.delete_instance(running)
    assert backend.deleted_ids == {running}
    with pytest.raises(KeyError):
        backend.stop_instance("instance-999")


def test_configure_checks_settings(backend: FakeBackend) -> None:
    backend.configure(step_seconds=0.5, serving_delay=2, api_key="other")
    assert (backend.step_seconds, backend.serving_delay, backend.api_key) == (0.5, 2, "other")
    with pytest.raises(ValueError, match="unknown setting"):
        backend.configure(colour="blue")
    with pytest.raises(ValueError, match="num_steps"):
        backend.configure(num_steps=0)
