"""The property schema is the one place a property is declared: everything else follows it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pulumi_cortecs import InstanceArgs, ManagedInstance, ManagedInstanceArgs
from pulumi_cortecs._reference import with_tables
from pulumi_cortecs._schema import (
    INPUTS,
    OUTPUTS,
    PROPERTIES,
    START_ARGS,
    USER_INPUTS,
    Change,
    InstanceInputs,
    names,
)
from pulumi_cortecs.resource._inputs import parse_inputs, start_args
from pulumi_cortecs.resource._preview import diff

from tests import LLAMA, LLAMA_ID, PROJECT_ROOT

# A value for each input that differs from its default, and the previous output it replaces.
CHANGED: dict[str, tuple[Any, Any]] = {
    "model_id": ("microsoft/Phi-3.5-mini-instruct", LLAMA_ID),
    "hardware_type_id": ("NVIDIA_L40S_1", "NVIDIA_L4_1"),
    "context_length": (8000.0, 16000),
    "billing_interval": ("per_hour", "per_minute"),
    "num_workers": (2.0, 1),
    "chat_openai_kwargs": ({"temperature": 0.5}, {}),
    "running": (False, True),
    "readiness_probe": (False, True),
    "adopt_existing": (False, True),
    "wait_timeout_seconds": (60.0, 1800.0),
    "max_price_per_hour": (5.0, None),
    "owner": ("cortecs-instances/prod/chat", "cortecs-instances/dev/chat"),
}


def test_the_readme_tables_are_generated_from_the_schema() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert with_tables(readme) == readme, "run scripts/sync-readme.py"


def test_every_input_has_a_changed_value_in_this_test() -> None:
    assert set(CHANGED) == set(names(INPUTS))


def test_the_program_facing_classes_follow_the_schema() -> None:
    fields = {f.name: f for f in dataclasses.fields(ManagedInstanceArgs)}
    assert list(fields) == list(names(USER_INPUTS)), "a program never sets an internal input"
    required = {name for name, f in fields.items() if f.default is dataclasses.MISSING}
    assert required == {p.name for p in INPUTS if p.required} == {"model_id"}
    assert set(ManagedInstance.__annotations__) == set(names(PROPERTIES))


def test_the_client_sends_exactly_the_start_arguments() -> None:
    assert set(InstanceArgs.model_fields) == set(names(START_ARGS))
    inputs = InstanceInputs(model_id=LLAMA_ID, context_length=8000)
    assert InstanceArgs(**start_args(inputs)).to_request() == {
        "model_id": LLAMA_ID,
        "context_length": 8000,
    }


def test_unset_inputs_take_their_defaults() -> None:
    parsed, failures = parse_inputs({"model_id": LLAMA})
    assert failures == []
    assert parsed == {p.name: p.default for p in INPUTS} | {"model_id": LLAMA_ID}
    assert parsed["chat_openai_kwargs"] is not INPUTS[5].default, "never a shared dict"


@pytest.mark.parametrize("prop", INPUTS, ids=lambda p: p.name)
def test_a_changed_input_replaces_or_updates_as_declared(prop: Any) -> None:
    new, old = CHANGED[prop.name]
    planned = diff({prop.name: old, "status": "running"}, {prop.name: new})
    expected = ([prop.name], []) if prop.change is Change.REPLACE else ([], [prop.name])
    assert (planned.replaces, planned.updates) == expected


def test_outputs_are_never_inputs_and_camel_names_are_pulumi_names() -> None:
    assert not set(names(INPUTS)) & set(names(OUTPUTS))
    by_name = {p.name: p for p in PROPERTIES}
    assert by_name["model_id"].camel_name == "modelId"
    assert by_name["estimated_cost_per_hour"].camel_name == "estimatedCostPerHour"
