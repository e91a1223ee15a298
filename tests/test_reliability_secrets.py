"""Canary credentials go in; they must come out nowhere: not in the serialized provider, the
outputs, the provider's stderr, error messages or tracebacks (even with local variables)."""

from __future__ import annotations

import base64
import json
import logging
import os
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import grpc
import httpx
import pulumi
import pytest
import respx
from google.protobuf import json_format
from packaging.version import Version
from pulumi.runtime.mocks import MockMonitor
from pulumi_cortecs import ApiError, Client, InstanceArgs, ManagedInstance
from pulumi_cortecs._journal import Journal
from pulumi_cortecs._store import DirectoryStore
from pulumi_cortecs._urls import has_userinfo, without_userinfo
from pulumi_cortecs.api._auth import REDACTED, Redactor, Secret
from pulumi_cortecs.resource._context import ProviderContext
from pulumi_cortecs.resource._preview import check
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.engine import CheckFailed, Deployment, ProviderProcess, program_inputs
from pulumi_cortecs.testing.fake import TokenStore
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env, start_fake_api

from tests import LLAMA

pytestmark = pytest.mark.engine

CLIENT_ID = "canary-client-id"
CLIENT_SECRET = "canary-client-secret-5f1d9c"
API_KEY = "canary-api-key-8b27e4"
SEED = 4242
# The SDK's provider server sends the engine the provider's whole traceback since pulumi 3.260,
# before only the error's message: the checks below cover whichever the floor's SDK sends.
SDK_SENDS_TRACEBACKS = Version(version("pulumi")) >= Version("3.260")
# The fake's tokens come from a generator seeded with SEED: these are the ones it hands out.
_tokens = TokenStore(SEED)
TOKENS = [_tokens.issue(0.0) for _ in range(200)]


def leaks(text: str) -> list[str]:
    canaries = [CLIENT_SECRET, API_KEY, *TOKENS]
    return [canary[:24] for canary in canaries if canary in text]


@pytest.fixture(scope="module")
def canary_api() -> Iterator[FakeApiProcess]:
    fake = start_fake_api("--step-seconds", "0.05", "--seed", str(SEED))
    fake.configure(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_key=API_KEY)
    yield fake
    fake.close()


def canary_config(fake: FakeApiProcess) -> dict[str, Any]:
    return {
        "cortecs:clientId": CLIENT_ID,
        "cortecs:clientSecret": CLIENT_SECRET,
        "cortecs:apiKey": API_KEY,
        "cortecs:apiBaseUrl": fake.api_base_url,
    }


def test_the_serialized_provider_holds_no_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("CORTECS_API_KEY", API_KEY)
    inputs = program_inputs(lambda: [ManagedInstance("chat", model_id=LLAMA)])["chat"]
    pickled = base64.b64decode(inputs["__provider"])
    assert CLIENT_SECRET.encode() not in pickled and API_KEY.encode() not in pickled
    assert leaks(repr(inputs)) == []


def test_a_whole_lifecycle_under_faults_leaks_nothing(
    canary_api: FakeApiProcess, tmp_path: Path
) -> None:
    canary_api.reset()
    canary_api.faults(random={"rate": 0.25, "seed": 5}, slow_seconds=0.1)
    provider = ProviderProcess(env=provider_env(tmp_path))
    try:
        provider.configure(canary_config(canary_api))
        stack = Deployment(provider)
        inputs = program_inputs(lambda: [ManagedInstance("chat", model_id=LLAMA)])["chat"]
        stack.up({"chat": inputs})
        stack.refresh()
        outputs = stack.state["chat"].outputs
        stack.destroy()
    finally:
        canary_api.faults(clear={})
        provider.close()
    assert canary_api.state()["token_fetches"] >= 1
    assert leaks(repr(outputs)) == []
    assert leaks(provider.stderr) == []
    # No output carries a credential, so none needs additional_secret_outputs.
    assert not {"api_key", "client_secret", "access_token", "token"} & set(outputs)
    assert not {"api_key", "openai_api_key"} & set(outputs["chat_openai_args"])


@pytest.mark.parametrize(
    ("config", "inputs"),
    [
        ({"cortecs:apiKey": "canary-api-key-8b27e4-wrong"}, {}),
        ({}, {"wait_timeout_seconds": 0.3}),
    ],
    ids=["refused probe", "timed out"],
)
def test_failed_creates_leak_nothing_in_errors(
    canary_api: FakeApiProcess, tmp_path: Path, config: dict[str, Any], inputs: dict[str, Any]
) -> None:
    canary_api.reset()
    canary_api.configure(step_seconds=0.2)  # a second to boot: the timed-out create gives up
    provider = ProviderProcess(env=provider_env(tmp_path))
    try:
        provider.configure({**canary_config(canary_api), **config})
        declared = program_inputs(lambda: [ManagedInstance("chat", model_id=LLAMA, **inputs)])
        with pytest.raises(grpc.RpcError) as failed:
            Deployment(provider).up(declared)
    finally:
        canary_api.configure(step_seconds=0.05)
        provider.close()
    details = str(failed.value.details())  # type: ignore[attr-defined]
    if SDK_SENDS_TRACEBACKS:
        assert "Traceback" in details  # the engine gets the provider's whole traceback
    assert "stopped and deleted" in details
    assert leaks(details) == [] and leaks(provider.stderr) == []
    assert "canary-api-key-8b27e4-wrong" not in details + provider.stderr
    assert canary_api.instances() == []


def fail(client: Client, failure: str) -> ApiError:
    """Make ``client`` fail as ``failure`` says; a function of its own so the traceback's
    frames hold no credential the test itself put in a local variable."""
    try:
        if failure == "stopped":
            instance = client.start(InstanceArgs(model_id=LLAMA))
            httpx.post(
                f"{client.api_base_url.removesuffix('/api/v1')}/_fake/instances/"
                f"{instance.instance_id}/stop"
            ).raise_for_status()
            client.wait_until_running(instance.instance_id)
        elif failure == "models":
            client.list_models()
        else:
            client.list_instances()
    except ApiError as error:
        return error
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize("failure", ["refused", "dropped", "stopped"])
def test_client_errors_and_tracebacks_with_locals_leak_nothing(
    canary_api: FakeApiProcess, failure: str
) -> None:
    canary_api.reset()
    secret = CLIENT_SECRET + "-wrong" if failure == "refused" else CLIENT_SECRET
    try:
        with Client(CLIENT_ID, secret, canary_api.api_base_url, max_attempts=2) as client:
            if failure == "dropped":
                client.authenticate()
                canary_api.faults(drop_next={"times": 10})
            error = fail(client, failure)
    finally:
        canary_api.faults(clear={})
    # From the frame that raised to the one in fail() that caught it: not this test's frame.
    shown = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert leaks(shown) == [] and secret not in shown
    assert leaks(repr(client)) == [] and secret not in repr(client)


def test_environment_credentials_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", CLIENT_SECRET)
    client = Client(api_base_url="http://127.0.0.1:9/api/v1", max_attempts=1)
    assert CLIENT_SECRET not in repr(client) + repr(vars(client))
    assert os.environ["CORTECS_CLIENT_SECRET"] == CLIENT_SECRET


# -- secrets a program marks: chat_openai_kwargs -----------------------------------------------

TEAM = "canary-team-header-41d7aa"
# How the wire marks a secret value: {SIG_KEY: SECRET_SIG, "value": ...} (pulumi.runtime.rpc).
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

Path_ = tuple[str, ...]


@dataclass
class Registration:
    """What a program sends the engine for a resource: inputs with their secret markers, and
    the outputs it asks to keep secret."""

    wire_inputs: dict[str, Any]
    additional_secret_outputs: list[str]


def registrations(
    monkeypatch: pytest.MonkeyPatch, build: Callable[[], list[pulumi.Resource]]
) -> tuple[dict[str, dict[str, Any]], dict[str, Registration]]:
    """``program_inputs(build)`` (what the provider receives, secrets unwrapped, as the engine
    hands them to a provider that does not accept secrets) and each registration as sent."""
    sent: dict[str, Registration] = {}
    register = MockMonitor.RegisterResource

    def recording(monitor: MockMonitor, request: Any) -> Any:
        wire = json_format.MessageToDict(request.object)
        sent[request.name] = Registration(wire, list(request.additionalSecretOutputs))
        return register(monitor, request)

    monkeypatch.setattr(MockMonitor, "RegisterResource", recording)
    return program_inputs(build), sent


def kept_secret(outputs: dict[str, Any], registration: Registration) -> set[Path_]:
    """The outputs the engine keeps secret (ENGINE-PROTOCOL.md, "Secrets on the way back"):
    those listed in additional_secret_outputs, and those under an input of the same key that
    holds a secret, recursing where both are objects (the engine's annotateSecrets)."""
    listed = {(name,) for name in registration.additional_secret_outputs}
    return listed | _annotated(outputs, registration.wire_inputs, ())


def _annotated(outs: dict[str, Any], ins: dict[str, Any], at: Path_) -> set[Path_]:
    found: set[Path_] = set()
    for key, given in ins.items():
        if key not in outs:
            continue
        if isinstance(outs[key], dict) and isinstance(given, dict) and not _is_secret(given):
            found |= _annotated(outs[key], given, (*at, key))
        elif _holds_secret(given):
            found.add((*at, key))
    return found


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def _holds_secret(value: Any) -> bool:
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(item) for item in value.values())
    return isinstance(value, list) and any(_holds_secret(item) for item in value)


def exposed(value: Any, canary: str, secret: set[Path_], at: Path_ = ()) -> list[Path_]:
    """Where ``canary`` shows in ``value`` outside the paths kept secret."""
    if at in secret:
        return []
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in exposed(v, canary, secret, (*at, k))]
    if isinstance(value, list):
        items = enumerate(value)
        return [found for i, v in items for found in exposed(v, canary, secret, (*at, str(i)))]
    return [at] if isinstance(value, str) and canary in value else []


SECRET_KWARGS: dict[str, Callable[[], Any]] = {
    "a secret inside": lambda: {
        "temperature": 0.2,
        "default_headers": {"X-Team": pulumi.Output.secret(TEAM)},
    },
    "the whole mapping secret": lambda: pulumi.Output.secret(
        {"temperature": 0.2, "default_headers": {"X-Team": TEAM}}
    ),
}


@pytest.mark.parametrize("kwargs", list(SECRET_KWARGS))
def test_a_secret_in_chat_kwargs_keeps_every_output_that_carries_it_secret(
    canary_api: FakeApiProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: str
) -> None:
    canary_api.reset()
    inputs, sent = registrations(
        monkeypatch,
        lambda: [
            ManagedInstance("chat", model_id=LLAMA, chat_openai_kwargs=SECRET_KWARGS[kwargs]())
        ],
    )
    assert sent["chat"].additional_secret_outputs == ["chat_openai_args"]
    provider = ProviderProcess(env=provider_env(tmp_path))
    try:
        provider.configure(canary_config(canary_api))
        stack = Deployment(provider)
        stack.up(inputs)
        created = stack.state["chat"].outputs
        stack.refresh()
        refreshed = stack.state["chat"].outputs
        stack.destroy()
    finally:
        provider.close()
    # The provider passes the value on (ChatOpenAI needs it); the engine keeps it secret.
    assert created["chat_openai_args"]["default_headers"] == {"X-Team": TEAM}
    for outputs in (created, refreshed):
        assert exposed(outputs, TEAM, kept_secret(outputs, sent["chat"])) == []
    assert TEAM not in provider.stderr


def test_plain_chat_kwargs_leave_chat_openai_args_readable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the gitops example exports and examples/chat_from_stack.py reads without
    # --show-secrets: config values are plain.
    _, sent = registrations(
        monkeypatch,
        lambda: [
            ManagedInstance("chat", model_id=LLAMA, chat_openai_kwargs={"temperature": 0.2}),
            ManagedInstance("bare", model_id=LLAMA),
        ],
    )
    assert sent["chat"].additional_secret_outputs == []
    assert sent["bare"].additional_secret_outputs == []


def test_a_program_secret_never_shows_in_check_failures(
    canary_api: FakeApiProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = {
        "default_headers": {"X-Team": pulumi.Output.secret(TEAM)},
        "api_key": pulumi.Output.secret(TEAM),
    }
    inputs, _ = registrations(
        monkeypatch,
        lambda: [
            ManagedInstance("chat", model_id=LLAMA, context_length=0, chat_openai_kwargs=kwargs)
        ],
    )
    provider = ProviderProcess(env=provider_env(tmp_path))
    try:
        provider.configure(canary_config(canary_api))
        with pytest.raises(CheckFailed) as failed:
            Deployment(provider).preview(inputs)
    finally:
        provider.close()
    assert [prop for prop, _ in failed.value.failures] == ["context_length", "chat_openai_kwargs"]
    assert "must not carry credentials (api_key)" in str(failed.value)
    assert TEAM not in str(failed.value) + provider.stderr


# -- credentials with whitespace around them -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "variable", "prop", "value"),
    [
        ("cortecs:clientSecret", "CORTECS_CLIENT_SECRET", "", CLIENT_SECRET + "\n"),
        ("cortecs:apiKey", "CORTECS_API_KEY", "readiness_probe", f" {API_KEY}"),
    ],
    ids=["client secret", "api key"],
)
def test_a_credential_with_whitespace_around_it_fails_preview_without_showing_it(
    canary_api: FakeApiProcess, tmp_path: Path, key: str, variable: str, prop: str, value: str
) -> None:
    canary_api.reset()
    provider = ProviderProcess(env=provider_env(tmp_path))
    try:
        provider.configure({**canary_config(canary_api), key: value})
        declared = program_inputs(lambda: [ManagedInstance("chat", model_id=LLAMA)])
        with pytest.raises(CheckFailed) as failed:
            Deployment(provider).preview(declared)
    finally:
        provider.close()
    assert failed.value.failures == [
        (
            prop,
            f"{key} (or {variable}) has whitespace before or after it, such as a trailing "
            "newline from a file or `echo`: set it again without (its value is not shown)",
        )
    ]
    assert leaks(provider.stderr) == []
    if prop == "":  # the padded secret is never sent
        assert canary_api.state()["token_fetches"] == 0


# -- echoed secrets and URLs with credentials ----------------------------------------------------

# A secret with every character JSON or a URL escapes differently.
ODD_SECRET = 'canary"odd/secret é+&=%\\ 7c2e'


def test_the_redactor_hides_a_secret_json_escaped_and_url_encoded() -> None:
    redact = Redactor()
    redact.add(Secret(ODD_SECRET))
    echoes = [
        ODD_SECRET,
        json.dumps(ODD_SECRET),
        json.dumps(ODD_SECRET, ensure_ascii=False),
        json.dumps(ODD_SECRET).replace("/", "\\/"),
        urllib.parse.quote(ODD_SECRET, safe=""),
        urllib.parse.quote(ODD_SECRET),
        urllib.parse.quote(ODD_SECRET, safe="").lower(),
        urllib.parse.quote_plus(ODD_SECRET),
    ]
    for echo in echoes:
        assert redact(f"said: {echo}.").replace('"', "") == f"said: {REDACTED}.", echo


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "bad form: client_id=x&" + urllib.parse.urlencode({"client_secret": ODD_SECRET})),
        (502, "upstream sent " + json.dumps({"client_secret": ODD_SECRET})),
        (200, 'not json {"echo": ' + json.dumps(ODD_SECRET).replace("/", "\\/")),
    ],
    ids=["url-encoded in an error", "json-escaped in an error", "json-escaped in a bad body"],
)
def test_a_secret_echoed_in_any_form_never_reaches_an_error(status: int, body: str) -> None:
    with (
        respx.mock() as router,
        Client("id", ODD_SECRET, "http://api.test/api/v1", max_attempts=1) as client,
    ):
        router.post("http://api.test/api/v1/oauth2/token").mock(
            return_value=httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        )
        router.get("http://api.test/api/v1/instances/").mock(
            return_value=httpx.Response(status, text=body)
        )
        error = fail(client, "list")
    shown = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert "canary" not in shown and "odd" not in shown


PASSWORD = "canary-url-password-9e04"


def test_a_password_in_the_api_url_is_in_no_message_repr_or_log(
    cortecs_api: FakeApiProcess, caplog: pytest.LogCaptureFixture
) -> None:
    with_password = cortecs_api.api_base_url.replace("http://", f"http://gateway:{PASSWORD}@")
    caplog.set_level(logging.INFO)
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, with_password) as client:
        client.list_models()
        assert client.api_base_url == cortecs_api.api_base_url
        assert PASSWORD not in repr(client)
    unreachable = "http://gateway:" + PASSWORD + "@127.0.0.1:9/api/v1"  # nothing listens
    with Client(api_base_url=unreachable, max_attempts=1) as client:
        error = fail(client, "models")
    assert "the API at http://127.0.0.1:9/api/v1 could not be reached" in str(error)
    shown = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert "HTTP Request: GET http://127.0.0.1" in caplog.text
    assert PASSWORD not in shown + caplog.text


def test_a_user_and_password_in_the_api_url_still_go_as_basic_auth_where_no_token_does() -> None:
    with (
        respx.mock() as router,
        Client("id", "s", f"https://me:{PASSWORD}@api.test/api/v1") as client,
    ):
        models = router.get("https://api.test/api/v1/models/").mock(
            return_value=httpx.Response(200, json={"models": []})
        )
        client.list_models()
    request = models.calls.last.request
    assert request.headers["authorization"] == httpx.BasicAuth("me", PASSWORD)._auth_header
    assert PASSWORD not in str(request.url)


def test_a_password_in_the_api_url_is_not_in_the_check_failure_of_an_unreachable_api(
    tmp_path: Path,
) -> None:
    unreachable = "http://gateway:" + PASSWORD + "@127.0.0.1:9/api/v1"  # nothing listens
    client = Client(CLIENT_ID, CLIENT_SECRET, unreachable, max_attempts=1)
    context = ProviderContext(client, api_key=API_KEY, journal=Journal(DirectoryStore(tmp_path)))
    checked = check(context, {"model_id": LLAMA})
    [(prop, reason)] = [(f.property, f.reason) for f in checked.failures]
    assert prop == ""
    assert reason.startswith(
        "the API cannot be reached: cortecs:apiBaseUrl (or CORTECS_API_BASE_URL) is "
        "http://127.0.0.1:9/api/v1; POST /oauth2/token failed: the API at "
        "http://127.0.0.1:9/api/v1 could not be reached"
    )
    assert PASSWORD not in reason


def test_urls_are_shown_without_userinfo() -> None:
    assert (
        without_userinfo("https://me:p%40ss@host:8443/api/v1?x=1") == "https://host:8443/api/v1?x=1"
    )
    assert without_userinfo("http://TOKEN@host/") == "http://host/"
    assert without_userinfo("http://u:p@ss@host/a@b") == "http://host/a@b"
    assert without_userinfo("https://cortecs.ai/api/v1") == "https://cortecs.ai/api/v1"
    assert not has_userinfo("mailto:someone@example.com")
