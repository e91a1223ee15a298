"""Pure logic behind the benchmarks' findings (no timing): lazy imports, the server-thread knob,
and the fake server's connection count."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pulumi_cortecs
import pytest
from pulumi_cortecs.resource import _server_pool
from pulumi_cortecs.testing.fake import FakeServer

from tests import PROJECT_ROOT

HEAVY_MODULES = ("langchain", "langchain_openai", "openai", "httpx", "pydantic", "tenacity")


@pytest.mark.parametrize(
    "statement",
    [
        "import pulumi_cortecs",
        # What a Pulumi program runs: it only names the provider class, the engine's provider
        # process does the API work.
        "from pulumi_cortecs import ManagedInstance, ManagedInstanceArgs, ManagedInstanceProvider",
    ],
)
def test_a_program_loads_neither_langchain_nor_the_client(statement: str) -> None:
    code = f"import sys\n{statement}\nprint([m for m in {HEAVY_MODULES!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, check=True
    )
    assert out.stdout.decode().strip() == "[]"


def test_every_public_name_resolves_lazily() -> None:
    for name in pulumi_cortecs.__all__:
        value = getattr(pulumi_cortecs, name)
        assert name.startswith("__") or value.__name__ == name
    assert set(pulumi_cortecs.__all__) <= set(dir(pulumi_cortecs))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = pulumi_cortecs.nope  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 64), ("4", 4), (" 16 ", 16), ("0", 64), ("-3", 64), ("many", 64), ("", 64)],
)
def test_server_threads_knob(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv(_server_pool.SERVER_THREADS_ENV, raising=False)
    else:
        monkeypatch.setenv(_server_pool.SERVER_THREADS_ENV, value)
    assert _server_pool.server_threads() == expected


def test_widening_outside_a_server_thread_changes_nothing() -> None:
    assert _server_pool.widen_server_pool() is False


def test_fake_server_counts_connections_and_keeps_them_alive() -> None:
    with FakeServer() as server, httpx.Client(base_url=server.api_base_url) as client:
        for _ in range(3):
            client.get("/models/").raise_for_status()
        assert server.connections == 1
        httpx.get(f"{server.api_base_url}/models/").raise_for_status()
        assert server.connections == 2
