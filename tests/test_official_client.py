"""The official client, cortecs-py, as the fake's judge: its whole public surface runs against the
fake over HTTP, as a user testing code written with it would run it.

The fake answers from a thread (:class:`FakeServer`) on a :class:`ManualClock`; the client's
module sees that clock as its ``time``, so its polling sleeps (5 s by default, and always 5 s
on ensure_instance's restart path) pass instantly and every run is the same.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

import pydantic
import pytest
import requests
from pulumi_cortecs.testing import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer, ManualClock

cortecs_py = pytest.importorskip("cortecs_py")
from cortecs_py import Cortecs  # noqa: E402
from cortecs_py import client as cortecs_client  # noqa: E402
from cortecs_py.integrations.langchain import DedicatedLLM  # noqa: E402
from cortecs_py.schemas import Instance, InstanceArgs, InstanceStatus, WorkerStatus  # noqa: E402

PUBLIC_CALLS = {
    name
    for name, member in inspect.getmembers(Cortecs, inspect.isfunction)
    if not name.startswith("_")
}
# An instantly provisioned model of the fake's catalog, the one the client's README starts.
PHI = "microsoft/Phi-3.5-mini-instruct"


class Judge:
    """A fake behind HTTP and a cortecs-py client pointed at it, recording which public calls
    ran."""

    def __init__(self, backend: FakeBackend, server: FakeServer) -> None:
        self.backend = backend
        self.server = server
        self.client = Cortecs(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, server.api_base_url)
        self.called: set[str] = set()
        for name in PUBLIC_CALLS:
            setattr(self.client, name, self._recorded(name, getattr(self.client, name)))

    def _recorded(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.called.add(name)
            return method(*args, **kwargs)

        return call


@pytest.fixture
def judge(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Judge]:
    era, shape = getattr(request, "param", ("today", "newer"))
    clock = ManualClock()
    backend = FakeBackend(clock=clock, api_era=era, response_shape=shape)
    # Only cortecs-py's module sees the fake's clock: its sleeps advance it, its token expiry
    # reads it.
    monkeypatch.setattr(
        cortecs_client, "time", types.SimpleNamespace(time=clock, sleep=clock.sleep)
    )
    with FakeServer(backend) as server:
        # The client prefers this variable to its constructor argument: pin it to the fake.
        monkeypatch.setenv("CORTECS_API_BASE_URL", server.api_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", DEMO_API_KEY)
        yield Judge(backend, server)


TODAY = [("today", "newer"), ("today", "older")]


@pytest.mark.parametrize("judge", TODAY, indirect=True, ids="-".join)
def test_the_whole_public_surface_runs_against_todays_fake(judge: Judge) -> None:
    client, backend = judge.client, judge.backend

    # The catalog is public: no credentials needed, no Authorization header sent.
    models = client.get_all_models()
    assert {m.model_id for m in models} >= {"microsoft--Phi-3.5-mini-instruct"}
    assert all(isinstance(m.size, int) for m in models)
    hardware = client.get_all_hardware_types()
    available = client.get_available_hardware_types()
    assert {h.hardware_type_id for h in available} < {h.hardware_type_id for h in hardware}
    assert client.delete_all(force=True) == []

    # ensure_instance checks the context against --max-model-len before sending anything.
    with pytest.raises(ValueError, match="too large"):
        client.ensure_instance(PHI, context_length=10**9, poll=False)
    assert backend.starts == 0

    # start(poll=True) polls until the last step and hands back the running instance.
    a = client.start(PHI)
    assert isinstance(a, Instance) and a.instance_status.status == "running"
    assert a.base_url is not None and a.instance_args.hf_name == PHI
    assert client.get_instance(a.instance_id) == a
    status = client.get_instance_status(a.instance_id)
    assert isinstance(status, InstanceStatus) and status.started_at is not None
    workers = client.get_worker_statuses(a.instance_id)
    assert isinstance(workers[0], WorkerStatus)
    assert workers[0].init_progress == {"current_step": 5, "num_steps": 5, "description": "Running"}
    assert [i.instance_id for i in client.get_all_instances()] == [a.instance_id]
    assert [i.instance_id for i in client.get_running_instances()] == [a.instance_id]
    assert client.poll_instance(a.instance_id).instance_id == a.instance_id

    # ensure_instance's four paths. The fake echoes the defaults the client computes, so the
    # running instance is recognised instead of a second one being billed.
    assert client.ensure_instance(PHI).instance_id == a.instance_id
    b = client.ensure_instance(PHI, num_workers=2)
    assert b.instance_id != a.instance_id and b.instance_args.num_workers == 2
    assert client.stop(a.instance_id).instance_status.status == "stopped"
    assert client.stop(b.instance_id).instance_status.status == "stopped"
    with pytest.raises(RuntimeError, match="stopped"):
        client.poll_instance(a.instance_id)
    assert client.ensure_instance(PHI).instance_id == a.instance_id  # restarts the stopped match
    assert client.get_instance(a.instance_id).instance_status.status == "running"
    client.stop(a.instance_id)
    restarted = client.restart(a.instance_id)
    assert restarted.instance_status.status == "running"
    client.stop(a.instance_id)
    c = client.start(PHI, poll=False)
    assert c.instance_status.status == "pending" and c.base_url is None
    assert client.ensure_instance(PHI).instance_id == c.instance_id  # polls the pending match
    d = client.start(PHI, context_length=1024, billing_interval="per_hour", poll=False)
    d = client.poll_instance(d.instance_id)
    assert (d.instance_args.context_length, d.instance_args.billing_interval) == (1024, "per_hour")
    assert backend.starts == 4

    # Refusals surface as HTTPError.
    with pytest.raises(requests.HTTPError):
        client.delete(d.instance_id)  # running
    with pytest.raises(requests.HTTPError):
        client.get_instance("instance-does-not-exist")

    # Bulk calls: stop-all with no body, delete-all with force_deletion=False/True.
    assert set(client.stop_all()) == {c.instance_id, d.instance_id}
    assert client.get_running_instances() == []
    assert client.delete(a.instance_id) == a.instance_id
    with pytest.raises(requests.HTTPError):
        client.get_instance(a.instance_id)
    assert set(client.delete_all()) == {b.instance_id, c.instance_id, d.instance_id}
    client.start(PHI, poll=False)
    assert len(client.delete_all(force=True)) == 1
    assert client.get_all_instances() == []

    assert InstanceArgs.from_hf_name(
        PHI, hardware_type_id=None, context_length=None, billing_interval=None, num_workers=None
    ).model_id == ("microsoft--Phi-3.5-mini-instruct")
    assert judge.called == PUBLIC_CALLS, PUBLIC_CALLS - judge.called
    assert len(PUBLIC_CALLS) == 16


@pytest.mark.parametrize("judge", TODAY, indirect=True, ids="-".join)
def test_dedicated_llm_answers_a_chat_and_cleans_up(judge: Judge) -> None:
    with DedicatedLLM(judge.client, PHI) as llm:
        assert llm.openai_api_base is not None
        answer = llm.invoke("Say hi")
    assert "Say hi" in str(answer.content)
    assert judge.client.get_all_instances() == []


def test_credentials_are_needed_for_instances_only(
    judge: Judge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORTECS_CLIENT_ID", raising=False)
    monkeypatch.delenv("CORTECS_CLIENT_SECRET", raising=False)
    anonymous = Cortecs(api_base_url=judge.server.api_base_url)
    assert anonymous.get_all_models() and anonymous.get_all_hardware_types()
    with pytest.raises(ValueError, match="CORTECS_CLIENT_ID"):
        anonymous.get_all_instances()
    wrong = Cortecs("nobody", "wrong", judge.server.api_base_url)
    with pytest.raises(requests.HTTPError):
        wrong.get_all_instances()
    assert judge.backend.token_fetches == 0


@pytest.mark.parametrize(
    "judge", [("seed", "newer"), ("seed", "older")], indirect=True, ids="-".join
)
def test_the_seeds_era_is_one_cortecs_py_can_no_longer_read(judge: Judge) -> None:
    """cortecs-py 0.1.1 changed with the API: the seed's answers fail its models. Only what
    did not change (hardware types) still reads; this pins the seed era as the old one."""
    client = judge.client
    assert client.get_all_hardware_types() and client.get_available_hardware_types()
    with pytest.raises(pydantic.ValidationError, match="size"):
        client.get_all_models()  # 3.8 is not a whole number
    with pytest.raises(KeyError, match="--max-model-len"):
        client.ensure_instance(PHI, poll=False)
    with pytest.raises(pydantic.ValidationError, match=r"num_workers|worker_statuses"):
        client.start(PHI, poll=False)


@pytest.mark.parametrize(("running_at", "status"), [("start", "running"), ("end", "pending")])
def test_its_polling_ends_on_step_n_of_n_not_on_running(
    judge: Judge, running_at: str, status: str
) -> None:
    """poll_instance returns when the first worker reports step n of n, whatever the status.
    With ``running_at="end"`` (the fake's default timing, the seed's) a poll finer than a step
    sees n of n while still pending, and start() hands back an instance without a base_url;
    with ``"start"`` n of n only ever comes with running. The default polls (5 s) step over
    the window when steps are 1 s, so the whole-surface test above passes either way."""
    judge.backend.configure(running_at=running_at)
    instance = judge.client.start(PHI, poll_interval=0.25)
    assert instance.instance_status.status == status
    assert (instance.base_url is None) == (status == "pending")
