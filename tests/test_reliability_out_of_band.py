"""Instances stopped or deleted behind Pulumi's back, with the API misbehaving meanwhile:
refresh reports it, the next up repairs it, destroy still succeeds."""

from __future__ import annotations

import pytest
from pulumi_cortecs import ManagedInstance
from pulumi_cortecs.testing.engine import Deployment, ProviderProcess, program_inputs
from pulumi_cortecs.testing.processes import FakeApiProcess

from tests.reliability import LLAMA, disagreements

pytestmark = pytest.mark.engine

NAMES = ("stopped", "deleted", "untouched")


def live(fake_api: FakeApiProcess) -> dict[str, dict[str, object]]:
    return {i["instance_id"]: i for i in fake_api.instances()}


def test_drift_is_reported_repaired_and_destroyable(
    engine: ProviderProcess, fake_api: FakeApiProcess
) -> None:
    program = program_inputs(lambda: [ManagedInstance(name, model_id=LLAMA) for name in NAMES])
    stack = Deployment(engine)
    stack.up(program)
    ids = {name: stack.state[name].id for name in NAMES}
    fake_api.faults(random={"rate": 0.1, "seed": 21}, slow_seconds=0.1)

    fake_api.stop_instance(ids["stopped"])
    fake_api.delete_instance(ids["deleted"])
    stack.refresh()
    assert stack.state["stopped"].outputs["status"] == "stopped"
    assert "deleted" not in stack.state, "refresh drops what was deleted"
    assert disagreements(stack, live(fake_api)) == []

    assert stack.up(program) == {"stopped": "update", "deleted": "create", "untouched": "same"}
    assert stack.state["stopped"].id == ids["stopped"], "restarted in place"
    assert stack.state["deleted"].id not in ids.values(), "recreated"
    stack.refresh()
    assert all(entry.outputs["status"] == "running" for entry in stack.state.values())
    assert disagreements(stack, live(fake_api)) == []

    # Drift again, and destroy without a refresh first: it must still leave nothing.
    fake_api.stop_instance(stack.state["untouched"].id)
    fake_api.delete_instance(stack.state["stopped"].id)
    stack.destroy()
    assert fake_api.instances() == []
    assert fake_api.state()["starts"] == 4
