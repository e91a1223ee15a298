"""The fake over real HTTP: ``python -m pulumi_cortecs.testing.fake`` end to end, admin
endpoints, drops."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from pulumi_cortecs.api._models import Instance
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer

from tests import CREDENTIALS, LLAMA_ID, signed_in


@pytest.fixture(scope="module")
def cli() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m pulumi_cortecs.testing.fake`` on a free port; yields the process and its API
    base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pulumi_cortecs.testing.fake",
            "--port",
            "0",
            "--step-seconds",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    credentials = process.stdout.readline()
    assert "CORTECS_CLIENT_SECRET=demo-client-secret" in credentials
    try:
        yield process, base_url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def http(cli: tuple[subprocess.Popen[str], str]) -> Iterator[httpx.Client]:
    _, base_url = cli
    with httpx.Client(base_url=base_url, timeout=5) as client:
        client.post(base_url.replace("/api/v1", "/_fake/reset"))
        yield signed_in(client)


def admin(http: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
    origin = str(http.base_url).removesuffix("/api/v1/")
    return http.request(method, f"{origin}/_fake/{path}", **kwargs)  # type: ignore[arg-type]


def test_first_line_is_the_api_base_url(cli: tuple[subprocess.Popen[str], str]) -> None:
    _, base_url = cli
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")


def test_lifecycle_over_http(http: httpx.Client) -> None:
    assert len(http.get("/models/").json()["models"]) >= 3
    started = http.post("/instances/start", json={"model_id": LLAMA_ID}).json()["instance"]
    instance_id = started["instance_id"]
    deadline = time.monotonic() + 5
    while (raw := http.get(f"/instances/{instance_id}").json()["instance"])["base_url"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    instance = Instance.model_validate(raw)
    assert instance.status == "running"
    assert (
        instance.base_url == f"{str(http.base_url).removesuffix('/api/v1/')}/serve/{instance_id}/v1"
    )
    models = httpx.get(
        f"{instance.base_url}/models", headers={"authorization": "Bearer demo-api-key"}
    )
    assert models.json()["data"][0]["id"] == instance.hf_name

    http.post("/instances/stop", json={"instance_id": instance_id})
    assert http.delete(f"/instances/{instance_id}").status_code == 200
    state = admin(http, "GET", "state").json()
    assert state["instances"] == [] and state["deleted_ids"] == [instance_id]
    assert ["POST", "/api/v1/instances/start"] in state["calls"]
    assert not any(path.startswith("/_fake") for _, path in state["calls"])


def test_admin_faults_over_http(http: httpx.Client) -> None:
    assert admin(http, "POST", "faults", json={"fail_next": {"status": 502}}).status_code == 200
    assert http.get("/models/").status_code == 502

    admin(http, "POST", "faults", json={"lose_next_start_response": {}})
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/instances/start", json={"model_id": LLAMA_ID})
    assert [i["instance_id"] for i in http.get("/instances/").json()["instances"]] != []

    admin(http, "POST", "faults", json={"drop_next": {"path": "/models"}})
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/models")

    admin(http, "POST", "faults", json={"latency": 0.2})
    began = time.monotonic()
    http.get("/models")
    assert time.monotonic() - began >= 0.2
    admin(http, "POST", "faults", json={"random": {"rate": 1.0, "seed": 1, "kinds": ["503"]}})
    assert http.get("/models").status_code == 503
    admin(http, "POST", "faults", json={"clear": {}})
    assert http.get("/models").status_code == 200
    counts = admin(http, "GET", "state").json()["faults_injected"]
    assert counts == {"502": 1, "lost_response": 1, "drop": 1, "503": 1}

    bad = admin(http, "POST", "faults", json={"fail_next": {"status": 502, "colour": "red"}})
    assert bad.status_code == 400
    assert admin(http, "POST", "faults", json={"explode": {}}).status_code == 400


def test_admin_instances_tokens_and_config(http: httpx.Client) -> None:
    admin(http, "POST", "config", json={"step_seconds": 60})
    instance_id = http.post("/instances/start", json={"model_id": LLAMA_ID}).json()["instance"][
        "instance_id"
    ]
    assert admin(http, "POST", f"instances/{instance_id}/stop").status_code == 200
    status = http.get(f"/instances/{instance_id}").json()["instance"]["instance_status"]
    assert status["status"] == "stopped"
    assert admin(http, "DELETE", f"instances/{instance_id}").status_code == 200
    assert admin(http, "DELETE", f"instances/{instance_id}").status_code == 404
    assert admin(http, "GET", f"instances/{instance_id}/stop").status_code == 405

    assert admin(http, "POST", "config", json={"step_seconds": -1}).status_code == 400
    assert admin(http, "POST", "config", json={"step_seconds": 0.05}).status_code == 200

    admin(http, "POST", "expire-tokens")
    assert http.get("/instances/").status_code == 401
    assert admin(http, "GET", "nothing").status_code == 404


def test_sigterm_exits_cleanly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_cortecs.testing.fake", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    assert httpx.get(f"{base_url}/models").status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_help_shows_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_cortecs.testing.fake", "--help"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "--step-seconds" in result.stdout and "first line" in result.stdout


def test_fake_server_in_process_streams_and_keeps_its_backend() -> None:
    backend = FakeBackend(step_seconds=0.0)
    with FakeServer(backend) as server, httpx.Client(base_url=server.api_base_url) as http:
        assert server.backend is backend
        token = http.post("/oauth2/token", data=CREDENTIALS).json()["access_token"]
        http.headers["authorization"] = f"Bearer {token}"
        raw = http.post("/instances/start", json={"model_id": LLAMA_ID}).json()["instance"]
        assert raw["instance_status"]["status"] == "running"  # zero-length steps
        body = {
            "model": "meta-llama/Meta-Llama-3.1-8B-Instruct",
            "messages": [{"role": "user", "content": "a b c"}],
            "stream": True,
        }
        with httpx.stream(
            "POST",
            f"{raw['base_url']}/chat/completions",
            json=body,
            headers={"authorization": "Bearer demo-api-key"},
        ) as response:
            events = [line for line in response.iter_lines() if line]
        assert events[-1] == "data: [DONE]"
        assert backend.starts == 1


def test_a_busy_port_ends_the_fake_with_one_line_naming_it() -> None:
    with FakeServer() as taken:
        port = taken.origin.rsplit(":", 1)[1]
        done = subprocess.run(
            [sys.executable, "-m", "pulumi_cortecs.testing.fake", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"python -m pulumi_cortecs.testing.fake: error: cannot listen on 127.0.0.1:{port} "
        "(Address already in use): pass another --port, or --port 0 for a free one\n"
    )
