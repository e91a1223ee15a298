"""The fake's knobs for an API it did not shape: one-shot malformed bodies and lagging 404s,
foreign instances, per-step durations, instant models and a fresh endpoint's ingress errors.
Each is reachable in-process and through the admin endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pulumi_cortecs import Client
from pulumi_cortecs.testing import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer, ManualClock
from pulumi_cortecs.testing.fake.__main__ import parse_args
from pulumi_cortecs.testing.fake._settings import BY_NAME, SETTINGS, defaults

from tests import BASE, LLAMA_ID, signed_in

PHI_ID = "microsoft--Phi-3.5-mini-instruct"


@pytest.fixture
def http(cortecs_mock: FakeBackend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=BASE) as client:
        yield signed_in(client)


def start(http: httpx.Client, model_id: str = LLAMA_ID) -> str:
    response = http.post("/instances/start", json={"model_id": model_id})
    assert response.status_code == 200, response.text
    return str(response.json()["instance"]["instance_id"])


def progress(http: httpx.Client, instance_id: str) -> tuple[str, int | None]:
    raw = http.get(f"/instances/{instance_id}").json()["instance"]
    step = raw["worker_statuses"][0]["init_progress"]
    return raw["instance_status"]["status"], step["current_step"] if step else None


# -- one-shot malformed bodies and 404s ------------------------------------------------------


def test_a_200_with_an_html_or_empty_body_once(
    http: httpx.Client, cortecs_mock: FakeBackend
) -> None:
    instance_id = start(http)
    cortecs_mock.faults.inject("html_body", method="GET", path="/instances/*")
    page = http.get(f"/instances/{instance_id}")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html"
    assert page.text.startswith("<!DOCTYPE html>")
    assert http.get(f"/instances/{instance_id}").json()["instance"]["instance_id"] == instance_id

    cortecs_mock.faults.inject("empty_body", path="/instances/stop")
    stopped = http.post("/instances/stop", json={"instance_id": instance_id})
    assert (stopped.status_code, stopped.content) == (200, b"")
    assert progress(http, instance_id) == ("stopped", None)  # the API did act
    assert cortecs_mock.faults.counts() == {"html_body": 1, "empty_body": 1}


def test_instance_status_null_once(http: httpx.Client, cortecs_mock: FakeBackend) -> None:
    first, second = start(http), start(http)
    cortecs_mock.faults.inject("null_status", path="/instances")
    listed = http.get("/instances/").json()["instances"]
    assert [(i["instance_id"], i["instance_status"]) for i in listed] == [
        (first, None),
        (second, None),
    ]
    assert all(i["instance_status"] for i in http.get("/instances/").json()["instances"])

    cortecs_mock.faults.inject("null_status", path="/instances/start")
    started = http.post("/instances/start", json={"model_id": LLAMA_ID}).json()["instance"]
    assert started["instance_status"] is None and cortecs_mock.starts == 3


def test_an_api_lagging_behind_its_writes_answers_404_as_for_the_unknown(
    http: httpx.Client, cortecs_mock: FakeBackend
) -> None:
    instance_id = start(http)
    genuine = http.get("/instances/instance-404").json()
    cortecs_mock.faults.inject("not_found", method="GET", path="/instances/*", times=2)
    for _ in range(2):
        lagging = http.get(f"/instances/{instance_id}")
        assert lagging.status_code == 404
        assert lagging.json() == {"detail": f"instance {instance_id} not found"}
        assert set(lagging.json()) == set(genuine)
    assert http.get("/instances/").status_code == 200  # the list is not /instances/*
    assert http.get(f"/instances/{instance_id}").status_code == 200
    assert cortecs_mock.faults.counts() == {"not_found": 2}


def test_malformed_and_lagging_answers_through_the_admin_endpoint() -> None:
    with FakeServer(FakeBackend(step_seconds=0.0)) as server, httpx.Client() as http:
        api, admin = server.api_base_url, f"{server.origin}/_fake"
        signed_in(http, api)
        instance_id = start_at(http, api)
        faults = {"inject": {"kind": "not_found", "method": "GET", "path": "/api/v1/instances/*"}}
        assert http.post(f"{admin}/faults", json=faults).status_code == 200
        assert http.get(f"{api}/instances/{instance_id}").status_code == 404
        http.post(f"{admin}/faults", json={"inject": {"kind": "html_body"}})
        assert http.get(f"{api}/models/").headers["content-type"] == "text/html"
        assert http.get(f"{admin}/state").json()["faults_injected"] == {
            "not_found": 1,
            "html_body": 1,
        }


def start_at(http: httpx.Client, api: str, model_id: str = LLAMA_ID) -> str:
    response = http.post(f"{api}/instances/start", json={"model_id": model_id})
    return str(response.json()["instance"]["instance_id"])


# -- foreign instances -----------------------------------------------------------------------

FOREIGN_ARGS = {
    "model_id": LLAMA_ID,
    "hardware_type_id": "AMD_MI300X_8",
    "context_length": 1_000_000,
    "billing_interval": "per_second",
    "num_workers": 12,
    "region": "us-east",
}


def test_a_foreign_instance_added_through_the_admin_endpoint() -> None:
    with FakeServer(FakeBackend(step_seconds=1.0)) as server, httpx.Client() as http:
        admin = f"{server.origin}/_fake/instances"
        added = http.post(
            admin,
            json={"instance_args": FOREIGN_ARGS, "extra": {"owner": "another team"}},
        )
        assert added.status_code == 200
        foreign = added.json()["instance_id"]
        pending = http.post(
            admin, json={"instance_args": {"model_id": "x--y"}, "status": "pending"}
        )
        assert pending.status_code == 200
        assert http.post(admin, json={"instance_args": {}}).status_code == 400
        assert (
            http.post(admin, json={"instance_args": FOREIGN_ARGS, "colour": 1}).status_code == 400
        )

        with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, server.api_base_url) as client:
            instances = {i.instance_id: i for i in client.list_instances()}
            theirs = instances[foreign]
            assert theirs.status == "running" and theirs.base_url is not None
            assert theirs.instance_args.num_workers == 12
            assert theirs.instance_args.billing_interval == "per_second"
            assert theirs.instance_args.model_extra == {"region": "us-east"}
            assert theirs.model_extra == {"owner": "another team"}
            assert len(theirs.worker_statuses) == 12
            assert instances[pending.json()["instance_id"]].status == "pending"
            # The API treats it like any other instance.
            client.stop(foreign)
            assert client.delete(foreign) == foreign
        assert server.backend.starts == 0


def test_a_foreign_instance_in_process(cortecs_mock: FakeBackend, http: httpx.Client) -> None:
    stopped = cortecs_mock.add_foreign_instance(FOREIGN_ARGS, status="stopped")
    raw = http.get(f"/instances/{stopped.instance_id}").json()["instance"]
    assert raw["instance_args"] == FOREIGN_ARGS
    assert raw["instance_status"]["status"] == "stopped" and raw["base_url"] is None
    with pytest.raises(ValueError, match="status"):
        cortecs_mock.add_foreign_instance(FOREIGN_ARGS, status="hibernating")


# -- step timing -----------------------------------------------------------------------------


def walk(http: httpx.Client, clock: ManualClock, instance_id: str, times: list[float]) -> list[Any]:
    """The status and step seen at each of ``times`` (seconds after the start)."""
    began, seen = clock(), []
    for moment in times:
        clock.advance(began + moment - clock())
        seen.append(progress(http, instance_id))
    return seen


def test_unequal_steps(
    http: httpx.Client, cortecs_mock: FakeBackend, cortecs_clock: ManualClock
) -> None:
    cortecs_mock.configure(step_seconds=[1, 10, 1, 1, 2])
    assert cortecs_mock.num_steps == 5
    instance_id = start(http)
    assert walk(http, cortecs_clock, instance_id, [0, 1, 10.9, 11, 12, 13, 14.9, 15]) == [
        ("pending", 1),
        ("pending", 2),
        ("pending", 2),
        ("pending", 3),
        ("pending", 4),
        ("pending", 5),
        ("pending", 5),
        ("running", 5),
    ]
    assert cortecs_mock.instances[instance_id].running_since == 15
    with pytest.raises(ValueError, match="num_steps must be 5"):
        cortecs_mock.configure(num_steps=3)
    cortecs_mock.configure(step_seconds=[0.5, 0.5, 3])
    assert cortecs_mock.num_steps == 3


def test_running_at_the_start_of_the_last_step(
    http: httpx.Client, cortecs_mock: FakeBackend, cortecs_clock: ManualClock
) -> None:
    cortecs_mock.configure(running_at="start", step_seconds=[2, 2, 2, 2, 30])
    instance_id = start(http)
    assert walk(http, cortecs_clock, instance_id, [0, 6, 7.9, 8, 40]) == [
        ("pending", 1),
        ("pending", 4),
        ("pending", 4),
        ("running", 5),  # n of n is only ever seen running
        ("running", 5),
    ]
    # A restart takes the schedule in force then.
    cortecs_mock.configure(running_at="end", step_seconds=1.0)
    http.post("/instances/stop", json={"instance_id": instance_id})
    http.post("/instances/restart", json={"instance_id": instance_id})
    assert walk(http, cortecs_clock, instance_id, [4, 5]) == [("pending", 5), ("running", 5)]


def test_instant_models_run_at_once(http: httpx.Client, cortecs_mock: FakeBackend) -> None:
    cortecs_mock.configure(instant_models=True, step_seconds=60.0)
    instant = http.post("/instances/start", json={"model_id": PHI_ID}).json()["instance"]
    assert instant["instance_status"]["status"] == "running" and instant["base_url"]
    assert progress(http, start(http)) == ("pending", 1)  # not instant in the catalog


def test_step_timing_through_the_admin_endpoint(cortecs_clock: ManualClock) -> None:
    cortecs_mock = FakeBackend(clock=cortecs_clock)
    with FakeServer(cortecs_mock) as server, httpx.Client() as http:
        config = {"step_seconds": [5, 1, 1], "running_at": "start", "instant_models": True}
        assert http.post(f"{server.origin}/_fake/config", json=config).status_code == 200
        assert (cortecs_mock.step_seconds, cortecs_mock.num_steps, cortecs_mock.running_at) == (
            (5.0, 1.0, 1.0),
            3,
            "start",
        )
        bad = http.post(f"{server.origin}/_fake/config", json={"step_seconds": []})
        assert bad.status_code == 400
        bad = http.post(f"{server.origin}/_fake/config", json={"running_at": "middle"})
        assert bad.status_code == 400


# -- a fresh endpoint's ingress --------------------------------------------------------------


def chat(base_url: str, key: str = DEMO_API_KEY, model: str = LLAMA_ID) -> httpx.Response:
    message = {"role": "user", "content": "hi"}
    return httpx.post(
        f"{base_url}/chat/completions",
        json={"model": model.replace("--", "/"), "messages": [message], "max_tokens": 1},
        headers={"authorization": f"Bearer {key}"},
    )


def test_the_ingress_errs_on_the_first_requests_to_a_fresh_endpoint() -> None:
    cortecs_mock = FakeBackend(step_seconds=0.0, ingress_errors=[404, 502, 503])
    with FakeServer(cortecs_mock) as server, httpx.Client() as http:
        api = server.api_base_url
        signed_in(http, api)
        instance_id = start_at(http, api)
        base_url = http.get(f"{api}/instances/{instance_id}").json()["instance"]["base_url"]
        answers = [chat(base_url, key="wrong") for _ in range(4)]
        # The ingress answers before the instance (or its key check) is reached, in HTML.
        assert [a.status_code for a in answers] == [404, 502, 503, 401]
        assert (
            answers[1].headers["content-type"] == "text/html" and "Bad Gateway" in answers[1].text
        )
        assert chat(base_url).status_code == 200

        # Restarted, it is a fresh endpoint again.
        http.post(f"{api}/instances/stop", json={"instance_id": instance_id})
        http.post(f"{api}/instances/restart", json={"instance_id": instance_id})
        assert chat(base_url).status_code == 404

        admin = f"{server.origin}/_fake/config"
        assert http.post(admin, json={"ingress_errors": [502]}).status_code == 200
        assert http.post(admin, json={"ingress_errors": [200]}).status_code == 400
        fresh = start_at(http, api)
        assert chat(base_url.replace(instance_id, fresh)).status_code == 502


def test_the_knobs_from_the_command_line_and_the_process_helper() -> None:
    from pulumi_cortecs.testing import start_fake_api

    args = ["--step-seconds", "30,0.5", "--running-at", "start", "--ingress-errors", "502"]
    with start_fake_api(*args, "--instant-models") as fake, httpx.Client() as http:
        api = fake.api_base_url
        signed_in(http, api)
        slow = http.post(f"{api}/instances/start", json={"model_id": LLAMA_ID}).json()
        assert slow["instance"]["worker_statuses"][0]["init_progress"]["num_steps"] == 2
        instant = http.post(f"{api}/instances/start", json={"model_id": PHI_ID}).json()
        assert chat(instant["instance"]["base_url"], model=PHI_ID).status_code == 502
        foreign = fake.add_foreign_instance(FOREIGN_ARGS, extra={"owner": "them"})
        listed = {i["instance_id"]: i for i in fake.instances()}
        assert listed[foreign]["args"] == FOREIGN_ARGS and listed[foreign]["status"] == "running"


def test_every_setting_is_declared_once_with_the_default_a_backend_starts_with() -> None:
    backend = FakeBackend()
    assert {name: getattr(backend, name) for name in BY_NAME} == defaults()
    with pytest.raises(ValueError, match="unknown setting 'stepseconds'"):
        backend.configure(stepseconds=1)


def test_the_command_line_sets_only_the_settings_it_is_given() -> None:
    args = parse_args(["--step-seconds", "1,2", "--era", "seed", "--instant-models"])
    given = {s.name: getattr(args, s.name) for s in SETTINGS if hasattr(args, s.name)}
    assert given == {"step_seconds": [1.0, 2.0], "api_era": "seed", "instant_models": True}
    backend = FakeBackend(**given)
    assert (backend.step_seconds, backend.num_steps) == ((1.0, 2.0), 2)
