"""Client overhead: N ``get_instance`` calls, against plain ``requests`` per call.

The baseline does what the upstream client does: fetch a token, then send the request, with
a new connection each time. Tokens and TCP connections are counted by the in-thread fake.
"""

from __future__ import annotations

import time

import requests
from pulumi_cortecs import Client
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer

from ._common import Row

CLIENT_ID, SECRET = "demo-client-id", "demo-client-secret"


def run(*, calls: int) -> list[Row]:
    backend = FakeBackend(step_seconds=0.0)
    with FakeServer(backend) as server:
        url = server.api_base_url
        with Client(CLIENT_ID, SECRET, url) as client:
            instance_id = client.start(
                InstanceArgs(model_id="meta-llama/Meta-Llama-3.1-8B-Instruct")
            ).instance_id

        tokens, connections = backend.token_fetches, server.connections
        began = time.monotonic()
        with Client(CLIENT_ID, SECRET, url) as client:
            for _ in range(calls):
                client.get_instance(instance_id)
        ours_time = time.monotonic() - began
        ours_tokens = backend.token_fetches - tokens
        ours_connections = server.connections - connections

        tokens, connections = backend.token_fetches, server.connections
        began = time.monotonic()
        for _ in range(calls):
            token = requests.post(
                f"{url}/oauth2/token",
                json={
                    "client_id": CLIENT_ID,
                    "client_secret": SECRET,
                    "grant_type": "client_credentials",
                },
                timeout=30,
            ).json()["access_token"]
            response = requests.get(
                f"{url}/instances/{instance_id}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            response.raise_for_status()
        base_time = time.monotonic() - began
        base_tokens = backend.token_fetches - tokens
        base_connections = server.connections - connections

    name = f"5. client {calls} get_instance"
    ours_rate, base_rate = calls / ours_time, calls / base_time
    return [
        Row(name, "token fetches", ours_tokens, base_tokens, "tokens", "1", ours_tokens == 1),
        Row(
            name,
            "TCP connections",
            ours_connections,
            base_connections,
            "connections",
            "pooled (1)",
            ours_connections <= 2,
        ),
        Row(
            name, "throughput", ours_rate, base_rate, "calls/s", "> baseline", ours_rate > base_rate
        ),
    ]
