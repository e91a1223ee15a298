"""The test suite, and the constants and helpers its modules share."""

import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pulumi_cortecs._urls import DEFAULT_API_BASE_URL
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BASE = DEFAULT_API_BASE_URL
"""The default API base URL, which the in-process fake (``cortecs_mock``) serves."""
LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"
"""A model of the fake's catalog as users name it (its Hugging Face name)..."""
LLAMA_ID = "meta-llama--Meta-Llama-3.1-8B-Instruct"
# The type ManagedInstance registers under: part of its URN, which owns its instances.
MANAGED_INSTANCE_TYPE = "pulumi-python:dynamic/cortecs:ManagedInstance"
"""... and as the API names it."""
CREDENTIALS = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
"""The body of a token request the fake accepts."""


def signed_in(client: httpx.Client, api_base_url: str = "") -> httpx.Client:
    """`client` with a bearer token from the fake's token endpoint (the demo credentials);
    `api_base_url` for a client without a base URL."""
    token = client.post(f"{api_base_url}/oauth2/token", json=CREDENTIALS).json()["access_token"]
    client.headers["authorization"] = f"Bearer {token}"
    return client


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    """Wait for something another process does (the fake, a provider), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        time.sleep(0.02)


def unused_port() -> int:
    """A loopback port nothing listens on (for an endpoint that cannot be reached)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
