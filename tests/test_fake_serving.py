"""What a fake instance serves: the OpenAI-compatible API, in-process and via LangChain."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI
from pulumi_cortecs.api._models import Instance
from pulumi_cortecs.testing import DEMO_API_KEY
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer, ManualClock, mock_api

from tests import BASE, LLAMA, LLAMA_ID, signed_in

KEY = {"authorization": f"Bearer {DEMO_API_KEY}"}


def start_instance(http: httpx.Client, **body: object) -> str:
    signed_in(http)
    response = http.post("/instances/start", json={"model_id": LLAMA_ID, **body})
    instance_id: str = response.json()["instance"]["instance_id"]
    return instance_id


def instance(http: httpx.Client, instance_id: str) -> Instance:
    return Instance.model_validate(http.get(f"/instances/{instance_id}").json()["instance"])


@pytest.fixture
def served(cortecs_clock: ManualClock) -> Iterator[tuple[FakeBackend, httpx.Client, str]]:
    """A backend with one instance, not yet running, and its serving URL."""
    with (
        mock_api(clock=cortecs_clock, serving_delay=3.0) as backend,
        httpx.Client(base_url=BASE) as http,
    ):
        instance_id = start_instance(http, context_length=40)
        yield backend, http, f"https://cortecs.ai/serve/{instance_id}/v1"


def chat(url: str, **body: object) -> httpx.Response:
    payload = {"model": LLAMA, "messages": [{"role": "user", "content": "hello there"}], **body}
    return httpx.post(f"{url}/chat/completions", json=payload, headers=KEY)


def test_unavailable_until_running_and_serving_delay(
    served: tuple[FakeBackend, httpx.Client, str], cortecs_clock: ManualClock
) -> None:
    _, http, url = served
    assert chat(url).status_code == 503
    cortecs_clock.advance(5)
    assert instance(http, "instance-1").base_url == url
    assert chat(url).status_code == 503  # running, but not answering yet
    cortecs_clock.advance(3)
    assert chat(url).status_code == 200


def test_chat_completion(
    served: tuple[FakeBackend, httpx.Client, str], cortecs_clock: ManualClock
) -> None:
    backend, _, url = served
    cortecs_clock.advance(8)
    reply = chat(url).json()
    assert reply["object"] == "chat.completion" and reply["model"] == LLAMA
    assert reply["id"].startswith("chatcmpl-") and reply["created"] == int(cortecs_clock())
    assert reply["choices"][0]["message"] == {
        "role": "assistant",
        "content": f"{LLAMA} echoes: hello there",
    }
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert ("POST", "/serve/instance-1/v1/chat/completions") in backend.calls

    parts = [{"type": "text", "text": "from"}, {"type": "text", "text": "parts"}]
    by_parts = chat(url, messages=[{"role": "user", "content": parts}]).json()
    assert by_parts["choices"][0]["message"]["content"].endswith("from parts")
    truncated = chat(url, max_tokens=2).json()
    assert truncated["choices"][0]["finish_reason"] == "length"
    assert truncated["usage"]["completion_tokens"] == 2


def test_models_endpoint(
    served: tuple[FakeBackend, httpx.Client, str], cortecs_clock: ManualClock
) -> None:
    _, _, url = served
    cortecs_clock.advance(8)
    models = httpx.get(f"{url}/models", headers=KEY).json()
    assert [m["id"] for m in models["data"]] == [LLAMA]
    assert models["data"][0]["max_model_len"] == 40


def test_streaming_events(
    served: tuple[FakeBackend, httpx.Client, str], cortecs_clock: ManualClock
) -> None:
    _, _, url = served
    cortecs_clock.advance(8)
    response = chat(url, stream=True, stream_options={"include_usage": True})
    assert response.headers["content-type"] == "text/event-stream"
    events = [line[len("data: ") :] for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == f"{LLAMA} echoes: hello there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["total_tokens"] == 7


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"model": "meta-llama/Other"}, 404),
        ({"messages": []}, 400),
        ({"messages": [{"role": "user", "content": "word " * 60}]}, 400),
    ],
)
def test_chat_refusals(
    served: tuple[FakeBackend, httpx.Client, str],
    cortecs_clock: ManualClock,
    kwargs: dict[str, object],
    status: int,
) -> None:
    _, _, url = served
    cortecs_clock.advance(8)
    response = chat(url, **kwargs)
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_wrong_key_unknown_instance_and_stopped(
    served: tuple[FakeBackend, httpx.Client, str], cortecs_clock: ManualClock
) -> None:
    backend, _, url = served
    cortecs_clock.advance(8)
    wrong = httpx.post(f"{url}/chat/completions", json={}, headers={"authorization": "Bearer x"})
    assert wrong.status_code == 401
    assert httpx.get(url.replace("instance-1", "instance-7") + "/models").status_code == 404
    backend.stop_instance("instance-1")
    assert chat(url).status_code == 503


# -- LangChain over the real HTTP server ------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeBackend(step_seconds=0.02, num_steps=2)) as fake:
        yield fake


def running_instance(server: FakeServer) -> Instance:
    with httpx.Client(base_url=server.api_base_url) as http:
        instance_id = start_instance(http)
        deadline = time.monotonic() + 5
        while (current := instance(http, instance_id)).status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return current


def test_langchain_invoke_stream_batch(server: FakeServer) -> None:
    llm = ChatOpenAI(**running_instance(server).chat_openai_config(), api_key=DEMO_API_KEY)
    assert llm.invoke("hi there").content == f"{LLAMA} echoes: hi there"
    pieces = [chunk.content for chunk in llm.stream("stream me")]
    assert len(pieces) > 3
    assert "".join(str(p) for p in pieces) == f"{LLAMA} echoes: stream me"
    replies = llm.batch(["one", "two", "three"])
    assert [r.content for r in replies] == [f"{LLAMA} echoes: {w}" for w in ("one", "two", "three")]


def test_langchain_sees_serving_errors(server: FakeServer) -> None:
    ready = running_instance(server)
    # Instances keep the schedule they were launched with, so this one stays pending.
    server.backend.configure(step_seconds=60.0)
    try:
        with httpx.Client(base_url=server.api_base_url) as http:
            pending_id = start_instance(http)
    finally:
        server.backend.configure(step_seconds=0.02)
    pending_url = f"{server.origin}/serve/{pending_id}/v1"

    pending = ChatOpenAI(
        model_name=LLAMA, base_url=pending_url, api_key=DEMO_API_KEY, max_retries=0
    )
    with pytest.raises(openai.InternalServerError) as unavailable:
        pending.invoke("hi")
    assert unavailable.value.status_code == 503

    wrong_model = ChatOpenAI(
        **ready.chat_openai_config(model_name="x/y"), api_key=DEMO_API_KEY, max_retries=0
    )
    with pytest.raises(openai.NotFoundError):
        wrong_model.invoke("hi")

    wrong_key = ChatOpenAI(**ready.chat_openai_config(), api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong_key.invoke("hi")
