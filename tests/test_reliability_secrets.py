"""Canary credentials go in; they must come out nowhere: not in the serialized provider, the
outputs, the provider's stderr, error messages or tracebacks (even with local variables)."""

from __future__ import annotations

import base64
import os
import traceback
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from packaging.version import Version
from pulumi_cortecs import ApiError, Client, InstanceArgs, ManagedInstance
from pulumi_cortecs.testing.engine import Deployment, ProviderProcess, program_inputs
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
