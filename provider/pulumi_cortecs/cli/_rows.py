"""Typed rows: what each command shows, built from the API's objects, with a stable JSON form.

A row's JSON form is its fields in declaration order (``dataclasses.asdict``): adding a field
adds a key; renaming or removing one breaks scripts, so don't.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pulumi_cortecs import HardwareType, Instance, ModelPreview, PriceInfo
from pulumi_cortecs._leases import Reaped
from pulumi_cortecs._pricing import cost_per_hour, cost_since_start

PENDING = "pending"
RUNNING = "running"
STOPPED = "stopped"
STATUSES = (PENDING, RUNNING, STOPPED)


class Row:
    """Base of every row: its JSON form is its fields."""

    def to_json(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class HardwareFit:
    """One hardware type a model runs on."""

    hardware_type_id: str
    max_context_length: int | None
    recommended: bool


@dataclass(frozen=True)
class ModelRow(Row):
    model_id: str
    hf_name: str
    screen_name: str
    creator: str | None
    size: float | int | str | None
    instant_provisioned: bool
    recommended_hardware: str | None
    hardware: list[HardwareFit]

    @classmethod
    def of(cls, model: ModelPreview, *, only_hardware: str | None = None) -> ModelRow:
        """The model as its detail describes it; ``only_hardware`` keeps that one fit only."""
        return cls(
            model_id=model.model_id,
            hf_name=model.hf_name,
            screen_name=model.screen_name,
            creator=model.creator.name if model.creator else None,
            size=model.size,
            instant_provisioned=model.instant_provisioned,
            recommended_hardware=model.recommended_config,
            hardware=[
                HardwareFit(
                    hardware_type_id=hw,
                    max_context_length=model.max_context_lengths.get(hw),
                    recommended=hw == model.recommended_config,
                )
                for hw in model.hardware_configs
                if only_hardware is None or hw == only_hardware
            ],
        )


_GPU_KEYS = ("gpu", "gpu_name", "gpu_type", "gpu_model", "name")
_GPU_COUNT_KEYS = ("gpu_count", "num_gpus", "gpus", "count")
_VRAM_KEYS = ("vram_gb", "vram", "gpu_memory_gb", "memory_gb", "total_vram_gb")


@dataclass(frozen=True)
class HardwareRow(Row):
    hardware_type_id: str
    gpu: Any
    gpu_count: Any
    vram_gb: Any
    price_per_hour: float
    price_per_minute: float
    currency: str
    available: bool
    hardware_info: dict[str, Any]

    @classmethod
    def of(cls, hw: HardwareType, *, available: bool) -> HardwareRow:
        # hardware_info is free-form: the specs are read from whichever key the API uses.
        info = hw.hardware_info
        return cls(
            hardware_type_id=hw.hardware_type_id,
            gpu=_first(info, _GPU_KEYS),
            gpu_count=_first(info, _GPU_COUNT_KEYS),
            vram_gb=_first(info, _VRAM_KEYS),
            price_per_hour=hw.price_info.price_per_hour,
            price_per_minute=hw.price_info.price_per_minute,
            currency=hw.price_info.currency,
            available=available,
            hardware_info=dict(info),
        )


def _first(info: Mapping[str, Any], keys: Iterable[str]) -> Any:
    return next((info[key] for key in keys if info.get(key) is not None), None)


@dataclass(frozen=True)
class InstanceRow(Row):
    instance_id: str
    model_id: str
    model_name: str
    hardware_type_id: str | None
    context_length: int | None
    billing_interval: str | None
    num_workers: int | None
    status: str
    current_step: int | None
    num_steps: int | None
    step_description: str | None
    started_at: str | None
    stopped_at: str | None
    age_seconds: int | None
    base_url: str | None
    price_per_hour: float | None
    """The hardware's price, per worker."""
    currency: str | None
    estimated_cost_per_hour: float | None
    """What the instance costs per hour now: 0 while stopped, else ``cost_per_hour_running``."""
    cost_per_hour_running: float | None
    """``price_per_hour`` times the workers: what the instance costs per hour while it is not
    stopped."""
    cost_since_start: float | None
    """What it has cost since it last started (until it stopped), every started billing
    interval counted."""

    @classmethod
    def of(cls, instance: Instance, now: datetime, price: PriceInfo | None = None) -> InstanceRow:
        """The instance as of ``now``; a stopped instance's age and cost stop counting when it
        stopped. ``price``: its hardware's, if known."""
        args = instance.instance_args
        state = instance.instance_status
        progress = state.init_progress
        started = _aware(state.started_at)
        stopped = _aware(state.stopped_at)
        age = None if started is None else max(0.0, ((stopped or now) - started).total_seconds())
        running_cost = cost_per_hour(price.price_per_hour, args.num_workers) if price else None
        return cls(
            instance_id=instance.instance_id,
            model_id=args.model_id,
            model_name=instance.hf_name,
            hardware_type_id=args.hardware_type_id,
            context_length=args.context_length,
            billing_interval=args.billing_interval,
            num_workers=args.num_workers,
            status=instance.status,
            current_step=progress.current_step if progress else None,
            num_steps=progress.num_steps if progress else None,
            step_description=progress.description if progress else None,
            started_at=started.isoformat() if started else None,
            stopped_at=stopped.isoformat() if stopped else None,
            age_seconds=None if age is None else round(age),
            base_url=instance.base_url,
            price_per_hour=price.price_per_hour if price else None,
            currency=price.currency if price else None,
            estimated_cost_per_hour=(0.0 if instance.status == STOPPED and price else running_cost),
            cost_per_hour_running=running_cost,
            cost_since_start=cost_since_start(instance, price, now),
        )

    @property
    def progress(self) -> str:
        """``3/5 Downloading weights``; empty when the API gives no progress."""
        if self.current_step is None:
            return ""
        return f"{self.current_step}/{self.num_steps} {self.step_description or ''}".rstrip()

    @property
    def state(self) -> str:
        """The status, with the step while pending: ``pending 3/5 Downloading weights``."""
        if self.status == PENDING and self.progress:
            return f"{self.status} {self.progress}"
        return self.status


@dataclass(frozen=True)
class OutcomeRow(Row):
    """What ``stop`` or ``delete`` did to one instance."""

    instance_id: str
    model_name: str
    hardware_type_id: str | None
    status_before: str
    outcome: str
    """``stopped``, ``already stopped``, ``deleted`` or ``stopped and deleted``."""


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


@dataclass(frozen=True)
class OrphanRow(Row):
    """An instance a journal records as started (or maybe started) and never handed to a
    stack: billed while it runs, and in no stack's state."""

    instance_id: str | None
    """``None``: a start whose answer never came, not yet reconciled."""
    owner: str
    """``project/stack/resource``: the resource that started it."""
    record: str
    """``started``; ``unresolved`` (it may be this start's or another's); ``sending``."""
    recorded_at: str
    age_seconds: int
    status: str | None
    """As the API reports it now; ``gone`` when it no longer exists; ``None`` when unknown."""
    model_name: str
    hardware_type_id: str | None
    estimated_cost_per_hour: float | None
    currency: str | None
    journal: str
    clean: str
    """What to do about it."""


@dataclass(frozen=True)
class ReapRow(Reaped, Row):
    """What ``reap`` did about one lease: its JSON form is :class:`~pulumi_cortecs._leases.
    Reaped`'s fields (outcome ``stopped``, ``deleted``, ``lease removed``, ``left alone``,
    ``claimed by another reaper`` or ``failed``; with ``--dry-run``, ``would ...``)."""

    @classmethod
    def of(cls, reaped: Reaped) -> ReapRow:
        return cls(**dataclasses.asdict(reaped))


@dataclass(frozen=True)
class CostRow(Row):
    """What one owner's instances cost, in one currency."""

    owner: str
    """As the instances' leases name it; ``-`` for instances no lease names."""
    currency: str | None
    instances: int
    not_stopped: int
    cost_per_hour: float
    """What they cost per hour now (stopped ones nothing)."""
    cost_since_start: float
    """What they have cost since each last started."""
