"""The client's models: both eras of the API read everywhere, strict on what is sent, lenient on
what is read, and lists read item by item."""

from __future__ import annotations

import logging
from typing import Any

import pydantic
import pytest
from pulumi_cortecs.api._models import (
    HardwareType,
    Instance,
    InstanceArgs,
    ModelPreview,
    ReportedInstanceArgs,
    parse_hardware_types,
    parse_instances,
    parse_list,
    parse_models,
)

from tests import LLAMA, LLAMA_ID

HARDWARE = ["NVIDIA_L4_1", "NVIDIA_H100_1"]
PROGRESS = {"current_step": 3, "num_steps": 5, "description": "Downloading weights"}

# -- the catalog, one field at a time: the seed's era, then today's ---------------------------


def preview(**fields: Any) -> dict[str, Any]:
    return {"model_id": LLAMA_ID, **fields}


@pytest.mark.parametrize(
    "params",
    [
        {"max_context_length": 16000},  # the seed's era
        {"--max-model-len": 16000},  # today's (vLLM's flag)
        {"--max-model-len": "16000"},  # a number sent as a string
        {"--max-model-len": 16000, "max_context_length": 8000},  # both: today's wins
    ],
)
def test_max_context_is_read_under_either_key(params: dict[str, Any]) -> None:
    model = ModelPreview.model_validate(
        preview(
            recommended_config="NVIDIA_L4_1", hardware_configs={"NVIDIA_L4_1": {"params": params}}
        )
    )
    assert model.max_context_lengths == {"NVIDIA_L4_1": 16000}
    assert model.hardware_configs == ["NVIDIA_L4_1"]


def test_max_context_is_read_from_every_shape_of_hardware_configs() -> None:
    as_list = preview(
        hardware_configs=[{"hardware_type_id": "NVIDIA_L4_1", "params": {"--max-model-len": 8}}]
    )
    assert ModelPreview.model_validate(as_list).max_context_lengths == {"NVIDIA_L4_1": 8}
    # December 2024: the detail nested everything under hardware_info.
    nested = preview(
        hardware_info={
            "recommended_config": "NVIDIA_L4_1",
            "hardware_configs": {"NVIDIA_L4_1": {"params": {"max_context_length": 9}}},
        }
    )
    model = ModelPreview.model_validate(nested)
    assert model.max_context_lengths == {"NVIDIA_L4_1": 9}
    assert model.recommended_config == "NVIDIA_L4_1"
    unreadable = preview(hardware_configs={"NVIDIA_L4_1": {"params": {"--max-model-len": "lots"}}})
    assert ModelPreview.model_validate(unreadable).max_context_lengths == {}


@pytest.mark.parametrize(
    ("fields", "model_id"),
    [
        ({"model_id": LLAMA_ID}, LLAMA_ID),  # the seed's era
        ({"model_id": LLAMA_ID, "model_name": LLAMA_ID}, LLAMA_ID),  # today's
        (
            {"model_id": "old--id", "model_name": LLAMA_ID},
            LLAMA_ID,
        ),  # model_name wins, as in cortecs-py
        ({"model_name": LLAMA}, LLAMA_ID),  # a Hugging Face spelling is normalised
        ({"model_id": LLAMA_ID, "model_name": None}, LLAMA_ID),
    ],
)
def test_model_id_is_read_from_model_id_or_model_name(
    fields: dict[str, Any], model_id: str
) -> None:
    model = ModelPreview.model_validate(fields)
    assert (model.model_id, model.hf_name) == (model_id, LLAMA)


@pytest.mark.parametrize(
    "fields",
    [
        {"hardware_configs": ["NVIDIA_L4_1", "NVIDIA_H100_1"]},  # the seed's era
        {"hardware_info": {"hardware_configs": ["NVIDIA_L4_1", "NVIDIA_H100_1"]}},  # today's
        {
            "hardware_configs": None,
            "hardware_info": {"hardware_configs": ["NVIDIA_L4_1", "NVIDIA_H100_1"]},
        },
    ],
)
def test_hardware_ids_are_read_at_the_top_level_or_under_hardware_info(
    fields: dict[str, Any],
) -> None:
    assert ModelPreview.model_validate(preview(**fields)).hardware_configs == HARDWARE


@pytest.mark.parametrize(
    ("size", "read"), [(3.8, 3.8), (8, 8), (8.0, 8.0), ("8B", "8B"), (None, None)]
)
def test_sizes_are_whole_fractional_or_absent(size: Any, read: Any) -> None:
    model = ModelPreview.model_validate(preview(size=size))
    assert model.size == read and type(model.size) is type(read)


def test_todays_explicit_nulls_read_as_defaults() -> None:
    model = ModelPreview.model_validate(
        preview(
            hf_name=None,
            screen_name=None,
            description=None,
            creator=None,
            size=None,
            instant_provisioned=None,
            hardware_configs=None,
        )
    )
    assert (model.hf_name, model.screen_name, model.description) == (LLAMA, "", "")
    assert (model.creator, model.instant_provisioned, model.hardware_configs) == (None, False, [])
    assert ModelPreview.model_validate(preview(creator="Meta")).creator is not None
    hardware = HardwareType.model_validate(
        {
            "hardware_type_id": "NVIDIA_L4_1",
            "price_info": {"price_per_hour": 1, "price_per_minute": 0.02, "currency": "EUR"},
            "hardware_info": None,
        }
    )
    assert hardware.hardware_info == {}


SEED_MODEL = {
    "model_id": LLAMA_ID,
    "hf_name": LLAMA,
    "size": 8.0,
    "hardware_configs": ["NVIDIA_L4_1"],
}
TODAY_MODEL = {
    "model_id": "Qwen--Qwen2-7B-Instruct",
    "model_name": "Qwen--Qwen2-7B-Instruct",
    "hf_name": "Qwen/Qwen2-7B-Instruct",
    "screen_name": None,
    "description": None,
    "creator": {"name": "Qwen"},
    "size": 7,
    "instant_provisioned": True,
    "hardware_info": {"hardware_configs": ["NVIDIA_L4_1", "NVIDIA_L4_2"]},
}


def test_a_model_list_mixing_both_eras_reads_whole() -> None:
    models = parse_models([SEED_MODEL, TODAY_MODEL])
    assert [(m.model_id, m.size, m.hardware_configs) for m in models] == [
        (LLAMA_ID, 8.0, ["NVIDIA_L4_1"]),
        ("Qwen--Qwen2-7B-Instruct", 7, ["NVIDIA_L4_1", "NVIDIA_L4_2"]),
    ]
    assert models.unreadable == []


# -- instances, one field at a time -----------------------------------------------------------


def instance(
    *,
    args: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "instance_id": "instance-1",
        "base_url": None,
        "instance_args": {"model_id": LLAMA_ID, "hardware_type_id": "NVIDIA_L4_1", **(args or {})},
        "instance_status": {"status": "pending", **(status or {})},
        **fields,
    }


@pytest.mark.parametrize(
    ("args", "workers", "num_workers"),
    [
        ({"num_workers": 2}, None, 2),  # the seed's older servers
        ({}, [{"init_progress": PROGRESS}] * 3, 3),  # the seed's newer servers omit it
        ({"num_workers": None}, [{"init_progress": PROGRESS}] * 2, 2),  # null: count the workers
        ({"num_workers": 2}, [{"init_progress": PROGRESS}] * 2, 2),  # today's
        ({}, None, None),  # nothing to tell: unknown
        ({"num_workers": None}, [], None),
    ],
)
def test_num_workers_present_null_or_absent(
    args: dict[str, Any], workers: list[Any] | None, num_workers: int | None
) -> None:
    fields = {} if workers is None else {"worker_statuses": workers}
    parsed = Instance.model_validate(instance(args=args, **fields))
    assert parsed.instance_args.num_workers == num_workers


@pytest.mark.parametrize("fields", [{}, {"worker_statuses": None}, {"worker_statuses": []}])
def test_worker_statuses_are_always_a_list(fields: dict[str, Any]) -> None:
    assert Instance.model_validate(instance(**fields)).worker_statuses == []


def test_progress_is_read_on_instance_status_or_on_the_workers() -> None:
    older = Instance.model_validate(instance(status={"init_progress": PROGRESS}))
    assert older.instance_status.init_progress is not None
    assert older.instance_status.init_progress.current_step == 3

    ahead = {**PROGRESS, "current_step": 4}
    today = Instance.model_validate(
        instance(worker_statuses=[{"init_progress": ahead}, {"init_progress": PROGRESS}])
    )
    assert today.instance_status.init_progress == older.instance_status.init_progress  # slowest

    # The contract's own example carries both: instance_status's is taken as given.
    both = Instance.model_validate(
        instance(status={"init_progress": ahead}, worker_statuses=[{"init_progress": PROGRESS}])
    )
    assert both.instance_status.init_progress is not None
    assert both.instance_status.init_progress.current_step == 4

    stopped = Instance.model_validate(
        instance(status={"status": "stopped"}, worker_statuses=[{"init_progress": PROGRESS}])
    )
    assert stopped.instance_status.init_progress is None


def test_an_instance_list_mixing_both_eras_reads_whole() -> None:
    seed_older = instance(args={"num_workers": 1}, status={"init_progress": PROGRESS})
    seed_newer = {**instance(worker_statuses=[{"init_progress": PROGRESS}]), "instance_id": "i-2"}
    today = {
        **instance(
            args={"num_workers": 1, "context_length": 16000, "billing_interval": "per_minute"},
            status={"status": "running", "started_at": "2025-03-19T10:00:00Z", "stopped_at": None},
            worker_statuses=[{"init_progress": {**PROGRESS, "current_step": 5}}],
        ),
        "instance_id": "i-3",
        "base_url": "https://x.example/v1",
    }
    listed = parse_instances([seed_older, seed_newer, today])
    assert [(i.instance_id, i.status, i.instance_args.num_workers) for i in listed] == [
        ("instance-1", "pending", 1),
        ("i-2", "pending", 1),
        ("i-3", "running", 1),
    ]
    assert [
        i.instance_status.init_progress.current_step
        for i in listed
        if i.instance_status.init_progress
    ] == [3, 3, 5]


# -- strict on what is sent, lenient on what is read ------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"billing_interval": "per_second"},
        {"num_workers": 12},
        {"num_workers": 0},
        {"context_length": 0},
        {"region": "eu"},  # a field the API does not take: refused, not silently dropped
        {"model_id": " "},
    ],
)
def test_what_is_sent_is_validated_strictly(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        InstanceArgs(**{"model_id": LLAMA, **fields})


def test_what_is_sent_is_normalised_and_only_what_was_chosen() -> None:
    args = InstanceArgs(model_id=LLAMA, num_workers=2, billing_interval="per_hour")
    assert args.to_request() == {
        "model_id": LLAMA_ID,
        "billing_interval": "per_hour",
        "num_workers": 2,
    }


FOREIGN = instance(
    args={
        "num_workers": 12,
        "billing_interval": "per_second",
        "hardware_type_id": "AMD_MI300X_8",
        "context_length": 1_000_000,
        "region": "us-east",
    },
    status={"status": "hibernating", "reason": "someone else's"},
    worker_statuses=[{"init_progress": None, "gpu": "MI300X"}] * 12,
    owner="another team",
)


def test_a_foreign_instance_is_read_with_everything_kept() -> None:
    parsed = Instance.model_validate(FOREIGN)
    args = parsed.instance_args
    assert isinstance(args, ReportedInstanceArgs) and isinstance(args, InstanceArgs)
    assert (args.num_workers, args.billing_interval, args.hardware_type_id) == (
        12,
        "per_second",
        "AMD_MI300X_8",
    )
    assert args.context_length == 1_000_000
    assert args.model_extra == {"region": "us-east"}
    assert parsed.status == "hibernating"
    assert parsed.instance_status.model_extra == {"reason": "someone else's"}
    assert parsed.worker_statuses[0].model_extra == {"gpu": "MI300X"}
    assert parsed.model_extra == {"owner": "another team"}
    # Nothing read from the API can be sent back by mistake as if it were valid.
    with pytest.raises(pydantic.ValidationError):
        InstanceArgs(**args.model_dump(exclude={"region"}))


def test_one_unreadable_item_never_costs_the_list(caplog: pytest.LogCaptureFixture) -> None:
    mine = instance(args={"num_workers": 1})
    broken = {**instance(), "instance_id": "instance-9", "instance_status": None}
    with caplog.at_level(logging.WARNING, logger="pulumi_cortecs.api"):
        listed = parse_instances([FOREIGN, broken, "<html>", mine])
    assert [i.instance_id for i in listed] == ["instance-1", "instance-1"]
    assert [(u.index, u.item) for u in listed.unreadable] == [(1, broken), (2, "<html>")]
    assert "instance_status" in listed.unreadable[0].reason
    assert "instance-9" in caplog.text and "instance_status" in caplog.text

    hardware = parse_hardware_types([{"hardware_type_id": "X"}, {"price_info": {}}])
    assert list(hardware) == [] and len(hardware.unreadable) == 2
    with pytest.raises(TypeError, match="dict"):
        parse_list(Instance, {"instances": []})
