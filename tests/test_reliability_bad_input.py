"""Bad input, bad settings and bad answers: each fails at preview with a message that names the
field and what it accepts, and nothing is started, stopped or deleted. An id with a '?', '#' or
'/' in it names no other instance."""

from __future__ import annotations

import math
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pulumi_cortecs import ApiError, Client, InstanceArgs
from pulumi_cortecs._exceptions import MalformedResponseError, NotFoundError
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, FakeBackend, FakeServer
from pulumi_cortecs.testing.engine import CheckFailed, Deployment, ProviderProcess, declare
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env

from tests import LLAMA, LLAMA_ID

pytestmark = pytest.mark.engine

CANARY = "canary-credential-3c91e0"

# (inputs, the field the failure must name, words the reason must contain)
BAD_INPUTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown model": ({"model_id": "acme/not-a-model"}, "model_id", "not in the catalog"),
    "HF name with a typo": (
        {"model_id": "meta-llama/Meta-Llama-3.1-8B-Instruc"},
        "model_id",
        "'meta-llama/Meta-Llama-3.1-8B-Instruc' is not in the catalog; did you mean "
        "meta-llama/Meta-Llama-3.1-8B-Instruct?",
    ),
    "API id with a typo": (
        {"model_id": "meta-llama--Meta-Llama-3.1-8B-Instruc"},
        "model_id",
        "did you mean meta-llama--Meta-Llama-3.1-8B-Instruct?",
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
        "a finite number greater than 0, got 'cheap'",
    ),
    "timeout infinite": (
        {"wait_timeout_seconds": math.inf},
        "wait_timeout_seconds",
        "a finite number greater than 0, got inf",
    ),
    "timeout not a number": (
        {"wait_timeout_seconds": math.nan},
        "wait_timeout_seconds",
        "a finite number greater than 0, got nan",
    ),
    "price limit infinite": (
        {"max_price_per_hour": math.inf},
        "max_price_per_hour",
        "a finite number greater than 0, got inf",
    ),
    "price limit not a number": (
        {"max_price_per_hour": math.nan},
        "max_price_per_hour",
        "a finite number greater than 0, got nan",
    ),
    "context infinite": ({"context_length": math.inf}, "context_length", "at least 1, got inf"),
    "workers not a number": ({"num_workers": math.nan}, "num_workers", "to 8, got nan"),
    "context of 1e308, abbreviated": (
        {"context_length": 1e308},
        "context_length",
        "1e+308 is above the maximum of 16000",
    ),
    "workers of 40 digits, abbreviated": (
        {"num_workers": float(10**40)},
        "num_workers",
        "a whole number from 1 to 8, got 1e+40",
    ),
    **{
        f"model id with {what}": (
            {"model_id": model_id},
            "model_id",
            "a Hugging Face model name such as 'org/model': letters, digits, '-', '_' and "
            f"'.', with one '/' after the organisation; got {model_id!r}",
        )
        for what, model_id in [
            ("?", f"{LLAMA}?revision=main"),
            ("#", f"{LLAMA}#x"),
            ("two /", f"{LLAMA}/extra"),
            ("a space", "meta-llama/Meta Llama"),
            ("%", "meta-llama%2FMeta-Llama-3.1-8B-Instruct"),
        ]
    },
}

# Credentials in chat_openai_kwargs, in any case and at any depth: (kwargs, the paths named).
CREDENTIALS_IN_KWARGS: dict[str, tuple[dict[str, Any], str]] = {
    "upper case": ({"OPENAI_API_KEY": CANARY}, "OPENAI_API_KEY"),
    "camel case": ({"apiKey": CANARY}, "apiKey"),
    "a header": (
        {"default_headers": {"Authorization": f"Bearer {CANARY}"}},
        "default_headers.Authorization",
    ),
    "in model_kwargs": ({"model_kwargs": {"api_key": CANARY}}, "model_kwargs.api_key"),
    "a proxy URL with a password": (
        {"openai_proxy": f"http://me:{CANARY}@proxy.example:3128"},
        "openai_proxy (a URL with a user or password)",
    ),
    "deep in a list": (
        {"extra_body": {"tools": [{"name": "x"}, {"x-auth-token": CANARY}]}},
        "extra_body.tools[1].x-auth-token",
    ),
    "several": (
        {"temperature": 0.2, "api_key": CANARY, "default_headers": {"Cookie": CANARY}},
        "api_key, default_headers.Cookie",
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


@pytest.mark.parametrize("case", list(CREDENTIALS_IN_KWARGS))
def test_a_credential_in_chat_kwargs_is_named_by_its_path_never_shown(
    previewer: ProviderProcess, cortecs_api: FakeApiProcess, case: str
) -> None:
    kwargs, paths = CREDENTIALS_IN_KWARGS[case]
    prop, reason = only_failure(
        {**declare(model_id=LLAMA), "chat_openai_kwargs": kwargs}, previewer
    )
    assert prop == "chat_openai_kwargs"
    assert reason.startswith(f"must not carry credentials ({paths}): ")
    assert CANARY not in reason + previewer.shown
    assert_nothing_mutated(cortecs_api)


def test_chat_kwargs_that_only_look_like_credentials_pass(
    previewer: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    kwargs = {
        "max_tokens": 256,
        "max_completion_tokens": 256,
        "tiktoken_model_name": "gpt-4",
        "model_kwargs": {"prompt_cache_key": "chat-v1", "top_logprobs": 2},
        "openai_proxy": "http://proxy.example:3128",
        "default_headers": {"X-Team": "search"},
    }
    plan = Deployment(previewer).preview(
        {"chat": {**declare(model_id=LLAMA), "chat_openai_kwargs": kwargs}}
    )
    assert plan == {"chat": "create"}


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


class _UnpricedBackend(FakeBackend):
    """The fake API, with a catalog whose hardware types leave out NVIDIA_L4_1 (Llama's
    recommended hardware): its price is unknown."""

    def hardware_types(self, *, available_only: bool = False) -> list[dict[str, Any]]:
        listed = super().hardware_types(available_only=available_only)
        return [hw for hw in listed if hw["hardware_type_id"] != "NVIDIA_L4_1"]


@pytest.fixture
def unpriced(cortecs_api: FakeApiProcess, cortecs_home: Path) -> Iterator[ProviderProcess]:
    """A provider against an HTTP fake that does not price NVIDIA_L4_1."""
    with FakeServer(_UnpricedBackend()) as server:
        provider = ProviderProcess(env=provider_env(cortecs_home))
        provider.configure(cortecs_api.stack_config(**{"cortecs:apiBaseUrl": server.api_base_url}))
        yield provider
        provider.close()


def test_a_price_limit_on_hardware_of_unknown_price_fails_preview_saying_so(
    unpriced: ProviderProcess,
) -> None:
    prop, reason = only_failure(declare(model_id=LLAMA, max_price_per_hour=5), unpriced)
    assert prop == "max_price_per_hour"
    assert reason == (
        "cannot be checked, the price of NVIDIA_L4_1 is unknown: the catalog's hardware types "
        "lack it. Set hardware_type_id to hardware the catalog prices (`cortecs-instances "
        "hardware`), or remove the limit of 5.0"
    )


def test_without_a_limit_or_on_priced_hardware_an_unknown_price_passes_preview(
    unpriced: ProviderProcess,
) -> None:
    plan = Deployment(unpriced).preview(
        {
            "no limit": declare("a", model_id=LLAMA),
            "priced": declare(
                "b", model_id=LLAMA, hardware_type_id="NVIDIA_L40S_1", max_price_per_hour=5
            ),
        }
    )
    assert plan == {"no limit": "create", "priced": "create"}


def test_ids_are_encoded_in_paths_so_a_query_or_fragment_names_no_other_instance(
    cortecs_api: FakeApiProcess,
) -> None:
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        instance_id = client.start(InstanceArgs(model_id=LLAMA)).instance_id
        for tampered in (f"{instance_id}?x", f"{instance_id}#x", f"{instance_id}/x"):
            with pytest.raises(NotFoundError):
                client.get_instance(tampered)
            with pytest.raises(NotFoundError):
                client.delete(tampered)
        with pytest.raises(NotFoundError) as unknown_model:
            client.get_model(f"{LLAMA_ID}?x=1")
    assert unknown_model.value.path == f"/models/{LLAMA_ID}%3Fx%3D1"
    assert [i["instance_id"] for i in cortecs_api.instances()] == [instance_id]
    paths = {path for method, path in cortecs_api.state()["calls"] if method == "DELETE"}
    assert paths == {f"/api/v1/instances/{instance_id}{code}x" for code in ("%3F", "%23", "%2F")}


def test_a_refresh_of_a_tampered_id_finds_it_gone_and_leaves_the_instance_alone(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA, readiness_probe=False)})
    entry = stack.state["chat"]
    gone, _ = cortecs_engine.read(f"{entry.id}?x", entry.outputs, entry.inputs)
    assert gone == ""
    assert [i["instance_id"] for i in cortecs_api.instances()] == [entry.id]
    stack.destroy()


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


def test_a_base_url_without_the_api_path_is_not_blamed_on_the_credentials(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    host = cortecs_api.api_base_url.removesuffix("/api/v1")
    config = cortecs_api.stack_config(**{"cortecs:apiBaseUrl": host})
    [(prop, reason)] = preview_with(cortecs_api, cortecs_home, config)
    assert prop == ""
    assert "could not be used" not in reason
    assert "POST /oauth2/token failed with HTTP 404" in reason
    assert (
        f"cortecs:apiBaseUrl (or CORTECS_API_BASE_URL), {host}, does not end in /api/v1, where "
        f"the API lives (e.g. https://cortecs.ai/api/v1): try {host}/api/v1"
    ) in reason


@pytest.mark.soak  # the provider retries for about 30 s before it calls the API unreachable
def test_an_unreachable_api_fails_at_preview_once(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    unreachable = "http://127.0.0.1:9/api/v1"  # the discard port: nothing listens
    with_password = unreachable.replace("http://", "http://gateway:canary-password@")
    config = cortecs_api.stack_config(**{"cortecs:apiBaseUrl": with_password})
    [(prop, reason)] = preview_with(cortecs_api, cortecs_home, config)
    assert prop == ""
    assert reason.startswith("the API cannot be reached: cortecs:apiBaseUrl")
    assert unreachable in reason and "canary-password" not in reason


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
