"""Whole lifecycles through the engine's protocol while the fake API misbehaves: random faults
at 10% and 25%, and each mutating call's answer lost after the server acted on it."""

from __future__ import annotations

from collections.abc import Collection

import pytest
from pulumi_cortecs import Client, Instance, InstanceArgs, ServerError
from pulumi_cortecs.api import _starts
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.engine import Deployment, ProviderProcess
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock, mock_api
from pulumi_cortecs.testing.processes import FakeApiProcess

from tests import LLAMA
from tests.reliability import lifecycle_steps, run_fault_lifecycles

pytestmark = pytest.mark.engine

# The soak (scripts/soak.sh) runs 50 per rate; these are the same lifecycles, fewer of them.
CI_LIFECYCLES = 5


@pytest.mark.parametrize(("rate", "seed"), [(0.10, 7), (0.25, 11)])
def test_lifecycles_complete_under_random_faults(
    cortecs_api: FakeApiProcess, rate: float, seed: int
) -> None:
    run = run_fault_lifecycles(
        cortecs_api, rate=rate, seed=seed, count=CI_LIFECYCLES, parallel=CI_LIFECYCLES
    )
    assert run.failures == []
    assert run.completed == CI_LIFECYCLES
    assert run.leaked == 0
    assert run.duplicates == 0
    assert run.shared == 0
    assert run.disagreements == []
    assert run.starts == 2 * CI_LIFECYCLES  # create and replace, each exactly once
    assert run.faults_total >= rate * run.api_calls / 2, "the faults were really injected"


def test_every_lost_answer_is_reconciled(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    """Each call acts on the server and its answer is lost: start, stop, restart, delete."""
    steps = {name: inputs for name, inputs, _, _ in lifecycle_steps()}
    stack = Deployment(cortecs_engine)

    def lose_next(method: str, path: str) -> None:
        cortecs_api.faults(drop_next={"method": method, "path": path, "after_processing": True})

    lose_next("POST", "/instances/start")
    assert stack.up({"chat": dict(steps["replace"] or {})}) == {"chat": "create"}
    instance_id = stack.state["chat"].id

    lose_next("POST", "/instances/stop")
    assert stack.up({"chat": dict(steps["pause"] or {})}) == {"chat": "update"}
    assert stack.state["chat"].outputs["status"] == "stopped"

    # The retried restart is refused (the instance is pending by then): that is success.
    lose_next("POST", "/instances/restart")
    assert stack.up({"chat": dict(steps["resume"] or {})}) == {"chat": "update"}
    assert stack.state["chat"].outputs["status"] == "running"

    # The retried delete gets 404: the instance is gone, which is what destroy wanted.
    lose_next("DELETE", f"/instances/{instance_id}")
    stack.destroy()

    state = cortecs_api.state()
    assert state["faults_injected"] == {"lost_response": 4}
    assert state["starts"] == 1
    assert state["instances"] == [] and state["deleted_ids"] == [instance_id]


def test_lost_answers_without_the_provider(cortecs_api: FakeApiProcess) -> None:
    """The client on its own: a restart or delete whose answer was lost reports success."""
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        instance = client.wait_until_running(client.start(InstanceArgs(model_id=LLAMA)).instance_id)
        client.stop(instance.instance_id)
        cortecs_api.faults(drop_next={"path": "/instances/restart", "after_processing": True})
        assert client.restart(instance.instance_id).status in ("pending", "running")
        client.stop(instance.instance_id)
        cortecs_api.faults(
            drop_next={
                "path": f"/instances/{instance.instance_id}",
                "method": "DELETE",
                "after_processing": True,
            }
        )
        assert client.delete(instance.instance_id) == instance.instance_id
    assert cortecs_api.state()["faults_injected"] == {"lost_response": 2}


def test_a_lost_start_is_never_resent_while_its_outcome_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The start's answer is lost and the check that would find its instance fails too (its
    own retries ran out): the next attempt checks again rather than starting a second one."""
    cortecs_clock = ManualClock()
    backend = FakeBackend(clock=cortecs_clock)
    with mock_api(backend) as api:
        client = Client(
            DEMO_CLIENT_ID,
            DEMO_CLIENT_SECRET,
            sleep=cortecs_clock.sleep,
            clock=cortecs_clock,
        )
        candidates = _starts.candidates
        checks: list[str] = []

        def check_failing_once(
            instances: list[Instance], intent: _starts.StartIntent, claimed: Collection[str]
        ) -> list[Instance]:
            checks.append(intent.resolved.model_id)
            if len(checks) == 1:
                raise ServerError("GET /instances/ failed with HTTP 503", status_code=503)
            return candidates(instances, intent, claimed)

        monkeypatch.setattr(_starts, "candidates", check_failing_once)
        api.faults.lose_next_start_response()
        instance = client.start(InstanceArgs(model_id=LLAMA))
    assert len(checks) == 2
    assert backend.starts == 1
    assert list(backend.instances) == [instance.instance_id]
