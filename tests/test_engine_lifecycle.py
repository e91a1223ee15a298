"""ManagedInstance through the SDK's provider server, as the engine drives it, against the fake
API served over HTTP: preview, up, no-op up, replace, update, out-of-band changes, destroy."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2
from pulumi_cortecs._owner import Owner
from pulumi_cortecs.testing.engine import (
    UNKNOWN,
    CheckFailed,
    Deployment,
    ProviderProcess,
    declare,
)
from pulumi_cortecs.testing.processes import FakeApiProcess

from tests import LLAMA, LLAMA_ID

pytestmark = pytest.mark.engine


def live(cortecs_api: FakeApiProcess) -> list[dict[str, Any]]:
    return cortecs_api.instances()


def test_full_lifecycle(cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess) -> None:
    stack = Deployment(cortecs_engine)
    program = {"chat": declare(model_id=LLAMA, context_length=8000)}

    preview_with_unknown = {"chat": {**program["chat"], "chat_openai_kwargs": UNKNOWN}}
    assert stack.preview(preview_with_unknown) == {"chat": "create"}
    assert cortecs_api.state()["starts"] == 0, "a preview must not start anything"

    assert stack.up(program) == {"chat": "create"}
    outputs = stack.state["chat"].outputs
    assert outputs["status"] == "running"
    assert outputs["model_id"] == LLAMA_ID
    assert outputs["model_name"] == LLAMA
    assert outputs["hardware_type_id"] == "NVIDIA_L4_1"  # the model's recommended hardware
    assert outputs["context_length"] == 8000
    assert outputs["billing_interval"] == "per_minute"
    assert outputs["num_workers"] == 1
    assert outputs["base_url"].endswith(f"/serve/{outputs['instance_id']}/v1")
    assert outputs["chat_openai_args"] == {"model_name": LLAMA, "base_url": outputs["base_url"]}
    assert outputs["price_per_hour"] > 0 and outputs["currency"] == "EUR"
    assert outputs["started_at"]
    first_id = outputs["instance_id"]

    assert stack.up(program) == {"chat": "same"}, "a second up with the same program is a no-op"

    program = {"chat": declare(model_id=LLAMA, context_length=12000)}
    assert stack.up(program) == {"chat": "replace"}
    second_id = stack.state["chat"].id
    assert second_id != first_id
    assert [i["instance_id"] for i in live(cortecs_api)] == [second_id]

    program = {
        "chat": declare(model_id=LLAMA, context_length=12000, chat_openai_kwargs={"temperature": 0})
    }
    assert stack.up(program) == {"chat": "update"}
    outputs = stack.state["chat"].outputs
    assert stack.state["chat"].id == second_id
    assert outputs["chat_openai_args"]["temperature"] == 0
    assert outputs["status"] == "running", "update keeps every output"
    assert stack.up(program) == {"chat": "same"}

    cortecs_api.stop_instance(second_id)
    stack.refresh()
    assert stack.state["chat"].outputs["status"] == "stopped"
    assert stack.up(program) == {"chat": "update"}, "the next up restarts a stopped instance"
    assert stack.state["chat"].outputs["status"] == "running"
    assert stack.state["chat"].id == second_id

    cortecs_api.delete_instance(second_id)
    stack.refresh()
    assert "chat" not in stack.state, "refresh drops an instance deleted outside Pulumi"
    assert stack.up(program) == {"chat": "create"}

    stack.destroy()
    assert live(cortecs_api) == []


def test_unset_inputs_the_api_defaulted_never_diff(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = Deployment(cortecs_engine)
    program = {"chat": declare(model_id=LLAMA)}
    stack.up(program)
    resolved = stack.state["chat"].outputs
    assert resolved["context_length"] == 16000  # min(32000, the L4's maximum)
    assert stack.up(program) == {"chat": "same"}
    # Writing down what the API chose is not a change either.
    explicit = declare(
        model_id=LLAMA_ID,
        hardware_type_id=resolved["hardware_type_id"],
        context_length=resolved["context_length"],
        billing_interval="per_minute",
        num_workers=1,
    )
    assert stack.up({"chat": explicit}) == {"chat": "same"}
    # Had the catalog recommended other hardware since, an unset input still does not differ.
    entry = stack.state["chat"]
    checked, _ = cortecs_engine.check(program["chat"])
    as_if_recommended_elsewhere = {**entry.outputs, "hardware_type_id": "NVIDIA_L40S_1"}
    diff = cortecs_engine.diff(entry.id, as_if_recommended_elsewhere, checked)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    stack.destroy()


def test_a_state_from_before_urn_owners_shows_no_diff_unless_the_resource_changed(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = Deployment(cortecs_engine)
    program = {"chat": declare(model_id=LLAMA)}
    stack.up(program)
    entry = stack.state["chat"]
    owner = Owner.parse(entry.outputs["owner"])
    assert owner.urn is not None
    checked, _ = cortecs_engine.check(program["chat"])

    def diff_against(old_owner: str) -> Any:
        return cortecs_engine.diff(entry.id, {**entry.outputs, "owner": old_owner}, checked)

    # The state an earlier release wrote: the same project, stack and resource name.
    legacy = f"{owner.project}/{owner.stack}/{owner.name}"
    assert diff_against(legacy).changes == provider_pb2.DiffResponse.DIFF_NONE
    stack.state["chat"] = dataclasses.replace(entry, outputs={**entry.outputs, "owner": legacy})
    assert stack.up(program) == {"chat": "same"}
    # Another resource, in either form, is a change of owner, updated in place as before.
    for other in (
        f"{owner.project}/{owner.stack}/other",
        f"{owner.project}/prod/{owner.name}",
        owner.urn.replace("::chat", "::other"),
    ):
        diff = diff_against(other)
        assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME, other
        assert list(diff.replaces) == [], other  # in place, as before
    stack.destroy()  # with the legacy owner in its state
    assert live(cortecs_api) == []


@pytest.mark.parametrize(
    ("inputs", "field", "words"),
    [
        ({"model_id": "meta-llama/Meta-Llama-3.1-8B-Instruc"}, "model_id", "did you mean"),
        ({"model_id": LLAMA, "hardware_type_id": "TPU_9"}, "hardware_type_id", "NVIDIA_L4_1"),
        ({"model_id": LLAMA, "context_length": 999999}, "context_length", "16000"),
        ({"model_id": LLAMA, "billing_interval": "weekly"}, "billing_interval", "per_hour"),
        ({"model_id": LLAMA, "num_workers": 9}, "num_workers", "1 to 8"),
        ({"model_id": LLAMA, "max_price_per_hour": 0.01}, "max_price_per_hour", "above the limit"),
    ],
)
def test_bad_input_fails_at_preview_naming_the_field(
    cortecs_engine: ProviderProcess,
    cortecs_api: FakeApiProcess,
    inputs: dict[str, Any],
    field: str,
    words: str,
) -> None:
    with pytest.raises(CheckFailed) as failed:
        Deployment(cortecs_engine).preview({"chat": declare(**inputs)})
    assert [prop for prop, _ in failed.value.failures] == [field]
    assert words in failed.value.failures[0][1]
    assert cortecs_api.state()["starts"] == 0


def test_failed_create_stops_and_deletes_what_it_started(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    cortecs_api.configure(api_key="a-key-the-provider-does-not-have")
    with pytest.raises(Exception) as failed:
        Deployment(cortecs_engine).up({"chat": declare(model_id=LLAMA)})
    message = str(failed.value)
    assert "instance-" in message and "refused with HTTP 401" in message
    assert "stopped and deleted" in message
    assert live(cortecs_api) == []


def test_wait_timeout_names_last_step_and_cleans_up(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    cortecs_api.configure(step_seconds=5.0)
    with pytest.raises(Exception) as failed:
        Deployment(cortecs_engine).up({"chat": declare(model_id=LLAMA, wait_timeout_seconds=0.5)})
    message = str(failed.value)
    assert "step 1/5" in message
    assert "stopped and deleted" in message
    assert live(cortecs_api) == []


def test_destroy_of_an_already_deleted_instance_succeeds(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = Deployment(cortecs_engine)
    stack.up({"chat": declare(model_id=LLAMA)})
    cortecs_api.delete_instance(stack.state["chat"].id)
    stack.destroy()
    assert live(cortecs_api) == []
