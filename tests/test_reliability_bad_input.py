"""Bad input, bad settings and bad answers: each fails at preview with a message that names the
field and what it accepts, and nothing is started, stopped or deleted."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pulumi_cortecs import ApiError, Client
from pulumi_cortecs._exceptions import MalformedResponseError
from pulumi_cortecs.testing.engine import CheckFailed, Deployment, ProviderProcess
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env

from tests import LLAMA
from tests.test_engine_lifecycle import declare

pytestmark = pytest.mark.engine

# (inputs, the field the failure must name, words the reason must contain)
BAD_INPUTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown model": ({"model_id": "acme/not-a-model"}, "model_id", "not in the catalog"),
    "HF name with a typo": (
        {"model_id": "meta-llama/Meta-Llama-3.1-8B-Instruc"},
        "model_id",
        "did you mean meta-llama--Meta-Llama-3.1-8B-Instruct",
    ),
    "unknown hardware": ({"hardware_type_id": "TPU_9"}, "hardware_type_id", "it runs on"),
    "hardware the model cannot use": (
        {"hardware_type_id": "NVIDIA_A100_2"},
        "hardware_type_id",
        "cannot run on 'NVIDIA_A100_2'; it runs on NVIDIA_L4_1",
    ),
    "context 0": ({"context_length": 0}, "context_length", "a whole number of at least 1"),
    "context negative": ({"context_length": -8}, "context_length", "at least 1, got -8"),
    "context above the maximum": (
        {"context_length": 999999},
        "context_length",
        "above the maximum of 16000",
    ),
    "context not whole": ({"context_length": 8000.5}, "context_length", "a whole number"),
    "context as text": ({"context_length": "8000"}, "context_length", "a whole number"),
    "bad billing interval": (
        {"billing_interval": "weekly"},
        "billing_interval",
        "one of per_minute, per_hour",
    ),
    "empty billing interval": ({"billing_interval": ""}, "billing_interval", "per_minute"),
    "workers 0": ({"num_workers": 0}, "num_workers", "a whole number from 1 to 8, got 0"),
    "workers 9": ({"num_workers": 9}, "num_workers", "a whole number from 1 to 8, got 9"),
    "workers 'two'": ({"num_workers": "two"}, "num_workers", "from 1 to 8, got 'two'"),
    "empty model": ({"model_id": ""}, "model_id", "a Hugging Face model name"),
    "empty hardware": ({"hardware_type_id": " "}, "hardware_type_id", "a non-empty string"),
    "running as text": ({"running": "yes"}, "running", "true or false"),
    "kwargs not a mapping": (
        {"chat_openai_kwargs": ["temperature"]},
        "chat_openai_kwargs",
        "a mapping of ChatOpenAI keyword arguments",
    ),
    "credential in kwargs": (
        {"chat_openai_kwargs": {"api_key": "sk-x"}},
        "chat_openai_kwargs",
        "must not carry credentials (api_key)",
    ),
    "timeout negative": ({"wait_timeout_seconds": -1}, "wait_timeout_seconds", "greater than 0"),
    "price limit as text": (
        {"max_price_per_hour": "cheap"},
        "max_price_per_hour",
        "a number greater than 0",
    ),
}


def assert_nothing_mutated(cortecs_api: FakeApiProcess) -> None:
    state = cortecs_api.state()
    mutating = [
        call
        for call in state["calls"]
        if call[0] in ("POST", "DELETE") and call[1].startswith("/api/v1/instances")
    ]
    assert mutating == [] and state["starts"] == 0


def only_failure(inputs: dict[str, Any], provider: ProviderProcess) -> tuple[str, str]:
    with pytest.raises(CheckFailed) as failed:
        Deployment(provider).preview({"chat": inputs})
    [failure] = failed.value.failures
    return failure


@pytest.fixture(scope="module")
def previewer(
    cortecs_api_process: FakeApiProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProviderProcess]:
    """One provider process for the whole table, as one preview checks every resource."""
    provider = ProviderProcess(env=provider_env(tmp_path_factory.mktemp("home")))
    provider.configure(cortecs_api_process.stack_config())
    yield provider
    provider.close()


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_the_field(
    previewer: ProviderProcess, cortecs_api: FakeApiProcess, case: str
) -> None:
    inputs, field, words = BAD_INPUTS[case]
    # Raw values as the engine would send them: the SDK refuses some types in the program.
    prop, reason = only_failure({**declare(model_id=LLAMA), **inputs}, previewer)
    assert prop == field
    assert words in reason
    assert_nothing_mutated(cortecs_api)


def test_an_unknown_extra_input_is_named(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    # ManagedInstance refuses unknown keywords in the program; the engine may still send one
    # (state written by another version of the program).
    prop, reason = only_failure({**declare(model_id=LLAMA), "gpu": "A100"}, cortecs_engine)
    assert prop == "gpu"
    assert "is not an input of ManagedInstance; inputs are model_id, hardware_type_id" in reason
    assert_nothing_mutated(cortecs_api)


def test_a_missing_model_is_named(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    inputs = {k: v for k, v in declare(model_id=LLAMA).items() if k != "model_id"}
    assert only_failure(inputs, cortecs_engine) == (
        "model_id",
        "is required: a Hugging Face model name such as 'org/model'",
    )


def preview_with(
    cortecs_api: FakeApiProcess, journal: Path, config: dict[str, Any]
) -> list[tuple[str, str]]:
    provider = ProviderProcess(env=provider_env(journal))
    try:
        provider.configure(config)
        with pytest.raises(CheckFailed) as failed:
            Deployment(provider).preview({"chat": declare(model_id=LLAMA)})
    finally:
        provider.close()
    return failed.value.failures


def test_missing_credentials_fail_at_preview(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    config = cortecs_api.stack_config()
    del config["cortecs:clientId"], config["cortecs:clientSecret"]
    [(prop, reason)] = preview_with(cortecs_api, cortecs_home, config)
    # The engine shows a failure without a property as the resource's own problem.
    assert prop == ""
    for words in ("cortecs:clientId", "cortecs:clientSecret", "CORTECS_CLIENT_SECRET"):
        assert words in reason
    assert_nothing_mutated(cortecs_api)


def test_wrong_credentials_fail_at_preview(cortecs_api: FakeApiProcess, cortecs_home: Path) -> None:
    config = cortecs_api.stack_config(**{"cortecs:clientSecret": "not-the-secret"})
    [(prop, reason)] = preview_with(cortecs_api, cortecs_home, config)
    assert prop == ""
    assert "cortecs:clientId and cortecs:clientSecret could not be used" in reason
    assert "HTTP 401" in reason and "were refused" in reason
    assert "not-the-secret" not in reason
    assert cortecs_api.state()["token_fetches"] == 0


@pytest.mark.soak  # the provider retries for about 30 s before it calls the API unreachable
def test_an_unreachable_api_fails_at_preview_once(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    unreachable = "http://127.0.0.1:9/api/v1"  # the discard port: nothing listens
    config = cortecs_api.stack_config(**{"cortecs:apiBaseUrl": unreachable})
    [(prop, reason)] = preview_with(cortecs_api, cortecs_home, config)
    assert prop == ""
    assert reason.startswith("the API cannot be reached: cortecs:apiBaseUrl")
    assert unreachable in reason


class _GarbageCatalog(BaseHTTPRequestHandler):
    """Issues tokens, and answers everything else 200 with an HTML error page."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.endswith("/oauth2/token"):
            body = b'{"access_token": "stub-token", "expires_in": 3600}'
        else:
            body = b"<html><body>502 Bad Gateway</body></html>"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@pytest.fixture
def garbage_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GarbageCatalog)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    server.shutdown()
    server.server_close()


def test_a_malformed_catalog_fails_at_preview(
    cortecs_api: FakeApiProcess, cortecs_home: Path, garbage_api: str
) -> None:
    config = cortecs_api.stack_config(**{"cortecs:apiBaseUrl": garbage_api})
    [(prop, reason)] = preview_with(cortecs_api, cortecs_home, config)
    assert prop == "model_id"
    assert "could not be checked against the catalog" in reason
    assert "answered HTTP 200 with a body this client cannot read (not JSON)" in reason
    assert "502 Bad Gateway" in reason


MODELS_URL = "http://api.test/api/v1/models/"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json at all", "(not JSON): not json at all"),
        (b'["a", "list"]', "a JSON list where an object belongs"),
        (b'{"items": []}', "no 'models' field"),
        (b'{"models": "not a list"}', "a JSON str where a list belongs"),
    ],
)
def test_malformed_answers_are_clear_api_errors(body: bytes, words: str) -> None:
    with respx.mock() as router, Client("id", "secret", "http://api.test/api/v1") as client:
        router.get(MODELS_URL).mock(return_value=httpx.Response(200, content=body))
        with pytest.raises(MalformedResponseError) as caught:
            client.list_models()
    assert isinstance(caught.value, ApiError)
    assert "GET /models/ answered HTTP 200 with a body this client cannot read" in str(caught.value)
    assert words in str(caught.value)
    shown = "".join(traceback.format_exception(caught.value))
    assert "ValidationError" not in shown and "JSONDecodeError" not in shown


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"model_id": 42}, "model_id: Input should be a valid string"),
        ({"hf_name": 1, "size": []}, "model_id: Field required and 4 more"),
    ],
)
def test_an_item_the_client_cannot_read_is_left_out_and_kept_aside(
    item: dict[str, object], words: str
) -> None:
    good = {"model_id": "org--model", "hardware_configs": ["NVIDIA_L4_1"]}
    with respx.mock() as router, Client("id", "secret", "http://api.test/api/v1") as client:
        router.get(MODELS_URL).mock(return_value=httpx.Response(200, json={"models": [item, good]}))
        models = client.list_models()
    assert [m.model_id for m in models] == ["org--model"]
    [unreadable] = models.unreadable
    assert (unreadable.index, unreadable.item) == (0, item)
    assert words in unreadable.reason
