"""The fake's architecture, held: rules without HTTP, one registry of faults, no client imports,
and no test dependency needed to import or run it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import httpx
import pytest
from pulumi_cortecs.testing.fake import (
    DEFAULT_RANDOM_KINDS,
    FAULT_COMMANDS,
    FAULT_KINDS,
    FakeBackend,
    FakeServer,
    FaultKind,
    InvalidRequest,
    InvalidState,
    ManualClock,
    NotFound,
    _faults,
)
from pulumi_cortecs.testing.fake._wire import FakeResponse, json_response

from tests import LLAMA_ID, signed_in

# Run in a fresh interpreter where respx and the client cannot be imported.
_WITHOUT = """
import sys
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name == "respx" or name.startswith(("respx.", "pulumi_cortecs.api")):
            raise ImportError(f"{name} is not installed here")
sys.meta_path.insert(0, _Refuse())
"""


def test_rules_take_typed_arguments_and_raise_domain_errors() -> None:
    backend = FakeBackend(clock=ManualClock(), step_seconds=1.0)
    instance = backend.start(model_id=LLAMA_ID, num_workers=2)
    assert instance.args["num_workers"] == 2 and backend.starts == 1
    with pytest.raises(InvalidRequest, match="num_workers"):
        backend.start(model_id=LLAMA_ID, num_workers=9)
    with pytest.raises(InvalidState, match="stop it before deleting"):
        backend.delete(instance.instance_id)
    assert backend.stop(instance.instance_id) == (instance, True)
    assert backend.stop(instance.instance_id) == (instance, False)
    backend.delete(instance.instance_id)
    with pytest.raises(NotFound):
        backend.get_instance(instance.instance_id)
    assert backend.calls == []  # rules called directly are not HTTP calls


def test_importing_and_running_the_fake_needs_neither_respx_nor_the_client() -> None:
    script = _WITHOUT + textwrap.dedent(
        """
        import pulumi_cortecs.testing.fake as fake
        assert not any(m == "respx" or m.startswith("pulumi_cortecs.api") for m in sys.modules)
        try:
            fake.mock_api
        except ImportError as error:
            print("mock_api:", error)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "mock_api: respx is not installed here" in result.stdout

    runner = _WITHOUT + textwrap.dedent(
        """
        import runpy
        sys.argv = ["fake", "--port", "0"]
        runpy.run_module("pulumi_cortecs.testing.fake", run_name="__main__")
        """
    )
    process = subprocess.Popen([sys.executable, "-c", runner], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert httpx.get(f"{base_url}/models").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def teapot() -> Iterator[str]:
    """A fault kind added the way a new one would be: one entry in the registry."""

    def apply(faults: _faults.Faults, call: _faults.Call) -> FakeResponse:
        call.proceed()
        return json_response(418, {"detail": "I'm a teapot"})

    kind = FaultKind("teapot", "act, then answer 418", apply)
    FAULT_KINDS[kind.name] = kind
    yield kind.name
    del FAULT_KINDS[kind.name]


def test_one_registry_entry_makes_a_fault_kind_reachable_everywhere(teapot: str) -> None:
    with FakeServer(FakeBackend(step_seconds=0.0)) as server, httpx.Client() as http:
        admin, api = f"{server.origin}/_fake", server.api_base_url
        signed_in(http, api)
        injected = http.post(f"{admin}/faults", json={"inject": {"kind": teapot, "times": 2}})
        assert injected.status_code == 200
        assert http.post(f"{api}/instances/start", json={"model_id": LLAMA_ID}).status_code == 418
        assert server.backend.starts == 1  # the kind let the API act first
        assert http.get(f"{api}/models").status_code == 418
        assert http.get(f"{api}/models").status_code == 200

        random = {"rate": 1.0, "seed": 1, "kinds": [teapot]}
        assert http.post(f"{admin}/faults", json={"random": random}).status_code == 200
        assert http.get(f"{api}/hardware-types").status_code == 418
        state = http.get(f"{admin}/state").json()
        assert state["faults_injected"] == {teapot: 3}

        refused = http.post(f"{admin}/faults", json={"inject": {"kind": "kettle"}})
        assert refused.status_code == 400 and teapot in refused.json()["detail"]


def test_the_admin_endpoint_knows_exactly_the_registered_commands() -> None:
    with FakeServer(FakeBackend()) as server:
        refused = httpx.post(f"{server.origin}/_fake/faults", json={"explode": {}})
    assert refused.status_code == 400
    assert all(name in refused.json()["detail"] for name in FAULT_COMMANDS)
    assert set(DEFAULT_RANDOM_KINDS) <= set(FAULT_KINDS)
    # Kinds a client cannot be expected to ride out blindly are injected only when named, so
    # soak runs keep their mix.
    assert set(FAULT_KINDS) - set(DEFAULT_RANDOM_KINDS) == {
        "lost_response",
        "not_found",
        "html_body",
        "empty_body",
        "null_status",
    }


def test_the_client_agrees_with_the_fakes_own_reading_of_the_contract() -> None:
    """The fake keeps its own constants (it never imports the client's), so a client constant
    that drifted from the contract shows up here and in every test the fake then refuses."""
    from pulumi_cortecs.api import _models as client
    from pulumi_cortecs.testing.fake import _constants as fake

    assert client.BILLING_INTERVALS == fake.BILLING_INTERVALS
    assert (client.MIN_WORKERS, client.MAX_WORKERS) == (fake.MIN_WORKERS, fake.MAX_WORKERS)
    assert (client.PENDING, client.RUNNING, client.STOPPED) == (
        fake.PENDING,
        fake.RUNNING,
        fake.STOPPED,
    )
    assert client.to_hf_name(LLAMA_ID) == fake.to_hf_name(LLAMA_ID)
