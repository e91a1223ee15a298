"""What ManagedInstance promises beyond CRUD, through the engine's protocol against the fake API
over HTTP: readiness means answering, no orphans or duplicates, cost at preview, pause, progress."""

from __future__ import annotations

import pytest
from pulumi_cortecs import Client, InstanceArgs
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.engine import CheckFailed, Deployment, ProviderProcess, declare
from pulumi_cortecs.testing.processes import FakeApiProcess

from tests import LLAMA

pytestmark = pytest.mark.engine


@pytest.mark.parametrize("adopt_existing", [True, False])
def test_a_booting_identical_instance_someone_else_started_is_never_adopted(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess, adopt_existing: bool
) -> None:
    cortecs_api.configure(step_seconds=0.2)
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        booting = client.start(InstanceArgs(model_id=LLAMA)).instance_id
    instance_id, _ = cortecs_engine.create(
        cortecs_engine.check(declare(model_id=LLAMA, adopt_existing=adopt_existing))[0]
    )
    assert instance_id != booting, "pending proves nothing about whose an instance is"
    assert cortecs_api.state()["starts"] == 2


def test_two_identical_resources_get_two_instances(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = Deployment(cortecs_engine)
    stack.up({"a": declare("a", model_id=LLAMA), "b": declare("b", model_id=LLAMA)})
    assert stack.state["a"].id != stack.state["b"].id
    assert cortecs_api.state()["starts"] == 2


def test_a_start_whose_response_was_lost_yields_one_instance(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    cortecs_api.faults(lose_next_start_response={})
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA)})
    assert cortecs_api.state()["starts"] == 1
    assert [i["instance_id"] for i in cortecs_api.instances()] == [stack.state["chat"].id]


def test_ready_means_it_answers_a_chat_completion(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    # Reports running at once, but only answers two seconds later: longer than the wait takes
    # to see running (at most a second).
    cortecs_api.configure(serving_delay=2.0)
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA)})
    assert stack.state["chat"].outputs["status"] == "running"
    assert cortecs_engine.logged("answered a chat completion (attempt ")
    assert "(attempt 1)" not in cortecs_engine.shown, "the probe had to wait for the model"


def test_probe_can_be_turned_off(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    cortecs_api.configure(api_key="not-the-configured-key")
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA, readiness_probe=False)})
    assert stack.state["chat"].outputs["status"] == "running"


def test_cost_is_known_at_preview_and_capped(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    checked, failures = cortecs_engine.check(declare(model_id=LLAMA, num_workers=2))
    assert failures == []
    assert checked["currency"] == "EUR"
    assert checked["estimated_cost_per_hour"] == pytest.approx(2 * checked["price_per_hour"])
    assert cortecs_engine.logged(f"x 2: {checked['estimated_cost_per_hour']:.2f} EUR/hour")

    limit = checked["estimated_cost_per_hour"] - 0.01
    with pytest.raises(CheckFailed) as failed:
        Deployment(cortecs_engine).preview(
            {"chat": declare(model_id=LLAMA, num_workers=2, max_price_per_hour=limit)}
        )
    [(field, reason)] = failed.value.failures
    assert field == "max_price_per_hour"
    assert f"{checked['estimated_cost_per_hour']:.2f} EUR/hour" in reason
    assert f"{limit:.2f}" in reason
    assert cortecs_api.state()["starts"] == 0


def test_pause_and_resume_keep_the_instance(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA)})
    instance_id = stack.state["chat"].id

    assert stack.up({"chat": declare(model_id=LLAMA, running=False)}) == {"chat": "update"}
    assert stack.state["chat"].outputs["status"] == "stopped"
    assert stack.state["chat"].id == instance_id
    stack.refresh()
    assert stack.state["chat"].outputs["status"] == "stopped"
    assert stack.up({"chat": declare(model_id=LLAMA, running=False)}) == {"chat": "same"}

    assert stack.up({"chat": declare(model_id=LLAMA)}) == {"chat": "update"}
    assert stack.state["chat"].outputs["status"] == "running"
    assert stack.state["chat"].id == instance_id
    assert cortecs_api.state()["starts"] == 1
    stack.destroy()


def test_progress_is_logged_for_the_user(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA)})
    instance_id = stack.state["chat"].id
    # Which step the first poll sees depends on the machine's speed; that steps are logged does not.
    assert cortecs_engine.logged(f"{instance_id}: step ")
    assert cortecs_engine.logged(f"{instance_id}: ready in")
    stack.destroy()
    assert cortecs_engine.logged(f"deleted {instance_id}")
