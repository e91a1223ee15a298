"""The property schema is the one place a property is declared: everything else follows it."""

from __future__ import annotations

import dataclasses
import math
import re
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
    ChatKwargs,
    InstanceInputs,
    ModelName,
    PositiveNumber,
    WholeNumber,
    credential_paths,
    names,
    shown,
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
    "auto_stop_after": ("2h", "8h"),
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
    planned = diff({prop.name: old, "status": "running"}, {prop.name: new}, now=0.0)
    expected = ([prop.name], []) if prop.change is Change.REPLACE else ([], [prop.name])
    assert (planned.replaces, planned.updates) == expected


def test_outputs_are_never_inputs_and_camel_names_are_pulumi_names() -> None:
    assert not set(names(INPUTS)) & set(names(OUTPUTS))
    by_name = {p.name: p for p in PROPERTIES}
    assert by_name["model_id"].camel_name == "modelId"
    assert by_name["estimated_cost_per_hour"].camel_name == "estimatedCostPerHour"


def test_an_output_carries_only_an_input() -> None:
    carried = {p.name: p.carries for p in OUTPUTS if p.carries}
    assert carried == {"chat_openai_args": "chat_openai_kwargs"}
    assert set(carried.values()) <= set(names(INPUTS))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e308, "1e+308"),
        (10**40, "1e+40"),
        (-(10**40), "-1e+40"),
        (12345678901234567890123, "1.234e+22"),
        (10**400, "1e+400"),
        (1.2345678901234567e300, "1.235e+300"),
        (8000, "8000"),
        (0.5, "0.5"),
        (math.inf, "inf"),
        (True, "True"),
        ("x" * 100, "'" + "x" * 58 + "…"),
        ("org/model", "'org/model'"),
    ],
)
def test_a_long_number_or_text_is_abbreviated_in_messages(value: Any, expected: str) -> None:
    assert shown(value) == expected


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**400, 0, -1, True, "1"])
def test_a_positive_number_is_finite(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^must be a finite number greater than 0, got "):
        PositiveNumber().parse(value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1.5, True, "8"])
def test_a_whole_number_is_a_finite_integer(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^must be a whole number of at least 1, got "):
        WholeNumber(1).parse(value)


def test_a_whole_number_is_exact_at_any_size() -> None:
    assert WholeNumber(1).parse(8000.0) == 8000
    assert WholeNumber(1).parse(10**40) == 10**40
    with pytest.raises(ValueError, match=r"from 1 to 8, got 1e\+40$"):
        WholeNumber(1, 8).parse(10**40)


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        (LLAMA, LLAMA_ID),
        (LLAMA_ID, LLAMA_ID),
        (f"  {LLAMA}\n", LLAMA_ID),
        ("gpt2", "gpt2"),
        ("Qwen/Qwen2.5-72B-Instruct", "Qwen--Qwen2.5-72B-Instruct"),
    ],
)
def test_a_model_name_becomes_its_api_id(name: str, model_id: str) -> None:
    assert ModelName().parse(name) == model_id


@pytest.mark.parametrize(
    "name", ["org/model?x", "org/model#x", "org/model/x", "org/my model", "/model", "org/", "a%2Fb"]
)
def test_a_model_name_no_url_path_can_hold_as_it_is_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=re.escape("letters, digits, '-', '_' and '.', with one")):
        ModelName().parse(name)


@pytest.mark.parametrize(
    ("kwargs", "paths"),
    [
        (
            {"OPENAI_API_KEY": "x", "apiKey": "x", "x-api-key": "x"},
            ["OPENAI_API_KEY", "apiKey", "x-api-key"],
        ),
        (
            {"default_headers": {"Authorization": "x", "Proxy-Authorization": "x"}},
            ["default_headers.Authorization", "default_headers.Proxy-Authorization"],
        ),
        (
            {"model_kwargs": {"client_secret": "x", "access_token": "x", "password": "x"}},
            ["model_kwargs.client_secret", "model_kwargs.access_token", "model_kwargs.password"],
        ),
        (
            {"default_headers": {"Cookie": "x", "Ocp-Apim-Subscription-Key": "x"}},
            ["default_headers.Cookie", "default_headers.Ocp-Apim-Subscription-Key"],
        ),
        (
            {"openai_proxy": "socks5://me:pw@proxy:1080"},
            ["openai_proxy (a URL with a user or password)"],
        ),
        (
            {"extra_body": {"urls": ["https://ok.example", "https://TOKEN@x.example"]}},
            ["extra_body.urls[1] (a URL with a user or password)"],
        ),
        ({"api_key": None}, ["api_key"]),
    ],
)
def test_credentials_are_found_in_any_case_at_any_depth(
    kwargs: dict[str, Any], paths: list[str]
) -> None:
    assert credential_paths(kwargs) == paths
    with pytest.raises(
        ValueError, match=re.escape(f"must not carry credentials ({', '.join(sorted(paths))})")
    ):
        ChatKwargs().parse(kwargs)


def test_chat_openai_arguments_that_are_not_credentials_pass() -> None:
    kwargs = {
        "temperature": 0.2,
        "max_tokens": 256,
        "max_completion_tokens": 256,
        "tiktoken_model_name": "gpt-4",
        "stream_usage": True,
        "openai_proxy": "http://proxy.example:3128",
        "default_headers": {"X-Team": "search"},
        "model_kwargs": {"prompt_cache_key": "chat-v1", "logit_bias": {"50256": -100}},
        "stop": ["\n\n"],
    }
    assert credential_paths(kwargs) == []
    assert ChatKwargs().parse(kwargs) == kwargs
