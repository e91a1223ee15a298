"""Typed views of the objects the dedicated-instance API sends and receives.

Every model ignores fields it does not know, so a newer server never breaks an older client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BillingInterval = Literal["per_minute", "per_hour"]
BILLING_INTERVALS: tuple[str, ...] = ("per_minute", "per_hour")
MIN_WORKERS = 1
MAX_WORKERS = 8

PENDING = "pending"
RUNNING = "running"
STOPPED = "stopped"


def to_model_id(name: str) -> str:
    """The API's model id for a Hugging Face name: ``org/model`` becomes ``org--model``."""
    return name.strip().replace("/", "--")


def to_hf_name(model_id: str) -> str:
    """The Hugging Face name (what an OpenAI-compatible endpoint expects) for a model id."""
    return model_id.replace("--", "/")


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class InstanceArgs(_ApiModel):
    """The arguments an instance is started with; ``None`` leaves the choice to the API."""

    model_id: str = Field(
        description='The Hugging Face model name with "/" replaced by "--".',
        examples=["meta-llama--Meta-Llama-3.1-8B-Instruct"],
    )
    hardware_type_id: str | None = Field(
        default=None,
        description="The hardware type; the model's recommended one when None.",
        examples=["NVIDIA_L4_1"],
    )
    context_length: int | None = Field(
        default=None,
        gt=0,
        description="The maximum context length; min(32000, the hardware's maximum) when None.",
        examples=[16000],
    )
    billing_interval: BillingInterval | None = Field(
        default=None, description="per_minute or per_hour; per_minute when None."
    )
    num_workers: int | None = Field(
        default=None,
        ge=MIN_WORKERS,
        le=MAX_WORKERS,
        description="How many workers serve the model (1..8); 1 when None.",
    )

    @field_validator("model_id")
    @classmethod
    def _normalise_model_id(cls, value: str) -> str:
        model_id = to_model_id(value)
        if not model_id:
            raise ValueError("model_id must not be empty")
        return model_id

    @property
    def hf_name(self) -> str:
        return to_hf_name(self.model_id)

    def to_request(self) -> dict[str, Any]:
        """The body of ``POST /instances/start``: only the arguments that were chosen."""
        return self.model_dump(exclude_none=True)


class InitProgress(_ApiModel):
    current_step: int = Field(ge=0, description="The step being run, 1 to num_steps.")
    num_steps: int = Field(ge=1, description="How many steps initialisation takes (5).")
    description: str = Field(default="", description="What the current step does.")


class InstanceStatus(_ApiModel):
    """Where an instance is in its lifecycle."""

    status: str = Field(description="pending, running or stopped.")
    started_at: datetime | None = Field(
        default=None, description="When the instance was started; None while initialising."
    )
    stopped_at: datetime | None = Field(
        default=None, description="When the instance was stopped; None while it runs."
    )
    init_progress: InitProgress | None = Field(
        default=None, description="Initialisation progress; None when stopped."
    )


class WorkerStatus(_ApiModel):
    init_progress: InitProgress | None = None


class Instance(_ApiModel):
    """An instance as the API reports it, with a helper for LangChain's ``ChatOpenAI``."""

    instance_id: str = Field(examples=["instance-12345"])
    base_url: str | None = Field(
        default=None, description="Where the instance serves; None until it is ready."
    )
    instance_args: InstanceArgs
    instance_status: InstanceStatus
    worker_statuses: list[WorkerStatus] = Field(default_factory=list)

    @model_validator(mode="after")
    def _read_newer_shape(self) -> Instance:
        # Newer servers report progress per worker and may omit num_workers: the instance is as
        # far as its slowest worker, and has as many workers as they list.
        if self.instance_args.num_workers is None and self.worker_statuses:
            args = self.instance_args.model_copy(update={"num_workers": len(self.worker_statuses)})
            object.__setattr__(self, "instance_args", args)
        progresses = [w.init_progress for w in self.worker_statuses if w.init_progress]
        if (
            self.instance_status.init_progress is None
            and progresses
            and self.instance_status.status != STOPPED
        ):
            slowest = min(progresses, key=lambda p: p.current_step)
            status = self.instance_status.model_copy(update={"init_progress": slowest})
            object.__setattr__(self, "instance_status", status)
        return self

    @property
    def status(self) -> str:
        return self.instance_status.status

    @property
    def hf_name(self) -> str:
        return self.instance_args.hf_name

    def chat_openai_config(self, **kwargs: Any) -> dict[str, Any]:
        """Keyword arguments for ``langchain_openai.ChatOpenAI``; ``kwargs`` are added as given."""
        return {"model_name": self.hf_name, "base_url": self.base_url, **kwargs}


class Creator(_ApiModel):
    name: str = ""


class ModelPreview(_ApiModel):
    """A model of the catalog and the hardware it can run on.

    The list endpoint names the hardware; the detail endpoint also gives each one's maximum
    context length and the recommended hardware, kept here as ``max_context_lengths`` and
    ``recommended_config``.
    """

    model_id: str
    hf_name: str = ""
    screen_name: str = ""
    creator: Creator | None = None
    description: str = ""
    size: float | int | str | None = None
    instant_provisioned: bool = False
    hardware_configs: list[str] = Field(default_factory=list)
    recommended_config: str | None = None
    max_context_lengths: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _read_detail_shape(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("hardware_configs"), dict):
            configs: dict[str, Any] = data["hardware_configs"]
            data = {**data, "hardware_configs": list(configs)}
            data.setdefault(
                "max_context_lengths",
                {
                    hw: int(cfg["params"]["max_context_length"])
                    for hw, cfg in configs.items()
                    if isinstance(cfg, dict) and "max_context_length" in cfg.get("params", {})
                },
            )
        return data

    @model_validator(mode="after")
    def _default_hf_name(self) -> ModelPreview:
        if not self.hf_name:
            object.__setattr__(self, "hf_name", to_hf_name(self.model_id))
        return self


class PriceInfo(_ApiModel):
    price_per_hour: float
    price_per_minute: float
    currency: str


class HardwareType(_ApiModel):
    """A hardware type with its price and free-form specs (GPU name, count, VRAM...)."""

    hardware_type_id: str = Field(examples=["NVIDIA_L4_1"])
    price_info: PriceInfo
    hardware_info: dict[str, Any] = Field(default_factory=dict)
