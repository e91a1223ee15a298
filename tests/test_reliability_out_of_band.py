"""Instances stopped or deleted behind Pulumi's back, with the API misbehaving meanwhile:
refresh reports it, the next up repairs it, destroy still succeeds."""

from __future__ import annotations

import pytest
from pulumi_cortecs import ManagedInstance
from pulumi_cortecs.testing.engine import Deployment, ProviderProcess, program_inputs
from pulumi_cortecs.testing.processes import FakeApiProcess

from tests import LLAMA
from tests.reliability import disagreements

pytestmark = pytest.mark.engine

NAMES = ("stopped", "deleted", "untouched")


def live(cortecs_api: FakeApiProcess) -> dict[str, dict[str, object]]:
    return {i["instance_id"]: i for i in cortecs_api.instances()}


def test_drift_is_reported_repaired_and_destroyable(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    program = program_inputs(lambda: [ManagedInstance(name, model_id=LLAMA) for name in NAMES])
    stack = Deployment(cortecs_engine)
    stack.up(program)
    ids = {name: stack.state[name].id for name in NAMES}
    cortecs_api.faults(random={"rate": 0.1, "seed": 21}, slow_seconds=0.1)

    cortecs_api.stop_instance(ids["stopped"])
    cortecs_api.delete_instance(ids["deleted"])
    stack.refresh()
    assert stack.state["stopped"].outputs["status"] == "stopped"
    assert "deleted" not in stack.state, "refresh drops what was deleted"
    assert disagreements(stack, live(cortecs_api)) == []

    assert stack.up(program) == {"stopped": "update", "deleted": "create", "untouched": "same"}
    assert stack.state["stopped"].id == ids["stopped"], "restarted in place"
    assert stack.state["deleted"].id not in ids.values(), "recreated"
    stack.refresh()
    assert all(entry.outputs["status"] == "running" for entry in stack.state.values())
    assert disagreements(stack, live(cortecs_api)) == []

    # Drift again, and destroy without a refresh first: it must still leave nothing.
    cortecs_api.stop_instance(stack.state["untouched"].id)
    cortecs_api.delete_instance(stack.state["stopped"].id)
    stack.destroy()
    assert cortecs_api.instances() == []
    assert cortecs_api.state()["starts"] == 4
