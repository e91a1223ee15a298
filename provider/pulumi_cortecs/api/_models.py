"""Typed views of the objects the dedicated-instance API sends and receives.

Strict on what the client sends, lenient on what it reads:

- :class:`InstanceArgs` is what a start sends. It refuses what the API would refuse (an
  unknown billing interval, workers outside 1..8, a non-positive context) and unknown fields,
  so a mistake fails before anything is billed.
- Everything read from the API (:class:`Instance`, :class:`ReportedInstanceArgs`,
  :class:`ModelPreview`, :class:`HardwareType`...) keeps what the client would never send
  (another billing interval or status, twelve workers) as the server said it, keeps fields it
  does not know (in ``model_extra``), and reads both eras of the API: the seed's (the contract's
  main text) and today's (what the official client, cortecs-py 0.1.2, reads): the per-hardware
  maximum context as ``max_context_length`` or ``--max-model-len``; a model's id as ``model_id``
  or ``model_name``; its hardware ids at the top level or under ``hardware_info``; whole or
  fractional sizes; ``num_workers`` present, null or absent; progress on ``instance_status`` or
  on each of ``worker_statuses``.
- :func:`parse_models`, :func:`parse_hardware_types` and :func:`parse_instances` read a list
  item by item: an item that cannot be read at all is left out, logged and kept in the
  result's ``unreadable``, so one odd item never costs the whole list.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pulumi_cortecs._rules import to_hf_name, to_model_id
from pulumi_cortecs._schema import BILLING_INTERVALS, MAX_WORKERS, MIN_WORKERS

PENDING = "pending"
RUNNING = "running"
STOPPED = "stopped"

logger = logging.getLogger("pulumi_cortecs.api")

# The keys, by era, under which a model's hardware gives its maximum context length: today's
# API passes vLLM's own flag through, the seed's named it.
_MAX_CONTEXT_KEYS = ("--max-model-len", "max_context_length")


class _ApiModel(BaseModel):
    """What the client sends: unknown fields are refused, so a misspelt one cannot vanish."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _ReadModel(BaseModel):
    """What the client reads: fields it does not know are kept, in ``model_extra``."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _none_is(default: Any) -> Any:
    """A ``before`` validator reading JSON null as ``default`` (today's API sends nulls)."""

    def read(cls: type, value: Any) -> Any:
        return default if value is None else value

    return classmethod(read)


class InstanceArgs(_ApiModel):
    """The arguments an instance is started with; ``None`` leaves the choice to the API.

    Validated strictly: this is what the client sends.
    """

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
    # A str checked against BILLING_INTERVALS rather than a Literal, so that what the API
    # reports (ReportedInstanceArgs) can hold an interval this client does not know yet.
    billing_interval: str | None = Field(
        default=None,
        description="per_minute or per_hour; per_minute when None.",
        json_schema_extra={"enum": list(BILLING_INTERVALS)},
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

    @field_validator("billing_interval")
    @classmethod
    def _known_billing_interval(cls, value: str | None) -> str | None:
        if value is not None and value not in BILLING_INTERVALS:
            raise ValueError(f"must be one of {', '.join(BILLING_INTERVALS)}, got {value!r}")
        return value

    @property
    def hf_name(self) -> str:
        return to_hf_name(self.model_id)

    def to_request(self) -> dict[str, Any]:
        """The body of ``POST /instances/start``: only the arguments that were chosen."""
        return self.model_dump(exclude_none=True)


class ReportedInstanceArgs(InstanceArgs):
    """The arguments the API reports an instance runs with: read leniently.

    The same fields as :class:`InstanceArgs` (so it compares with what was asked for), holding
    whatever the server says: a billing interval or worker count this client would never send
    (an instance someone else started) is kept as given, and new fields land in
    ``model_extra``. ``num_workers`` is ``None`` when the server leaves it out or sends null
    and lists no workers either.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    context_length: int | None = Field(default=None, description="As the API reports it.")
    num_workers: int | None = Field(default=None, description="As the API reports it.")

    @field_validator("model_id")
    @classmethod
    def _normalise_model_id(cls, value: str) -> str:
        return value  # the server's own id, as it spells it

    @field_validator("billing_interval")
    @classmethod
    def _known_billing_interval(cls, value: str | None) -> str | None:
        return value  # whatever the API bills by, even an interval added after this client


class InitProgress(_ReadModel):
    current_step: int = Field(description="The step being run, 1 to num_steps.")
    num_steps: int = Field(ge=1, description="How many steps initialisation takes (5).")
    description: str = Field(default="", description="What the current step does.")

    _description = field_validator("description", mode="before")(_none_is(""))


class InstanceStatus(_ReadModel):
    """Where an instance is in its lifecycle."""

    status: str = Field(description="pending, running or stopped (or a status added since).")
    started_at: datetime | None = Field(
        default=None, description="When the instance was started; None while initialising."
    )
    stopped_at: datetime | None = Field(
        default=None, description="When the instance was stopped; None while it runs."
    )
    init_progress: InitProgress | None = Field(
        default=None, description="Initialisation progress; None when stopped."
    )


class WorkerStatus(_ReadModel):
    init_progress: InitProgress | None = None


class Instance(_ReadModel):
    """An instance as the API reports it, with a helper for LangChain's ``ChatOpenAI``."""

    instance_id: str = Field(examples=["instance-12345"])
    base_url: str | None = Field(
        default=None, description="Where the instance serves; None until it is ready."
    )
    instance_args: ReportedInstanceArgs
    instance_status: InstanceStatus
    worker_statuses: list[WorkerStatus] = Field(default_factory=list)

    _worker_statuses = field_validator("worker_statuses", mode="before")(_none_is([]))

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


class Creator(_ReadModel):
    name: str = ""

    _name = field_validator("name", mode="before")(_none_is(""))

    @model_validator(mode="before")
    @classmethod
    def _read_plain_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


def _max_context(params: Any) -> int | None:
    """A hardware's maximum context from its ``params``, whichever era named it."""
    if not isinstance(params, dict):
        return None
    for key in _MAX_CONTEXT_KEYS:
        try:
            return int(params[key])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _read_hardware_configs(configs: Any) -> tuple[list[str], dict[str, int]]:
    """Hardware ids and maximum contexts from ``hardware_configs`` in any of its shapes: a list
    of ids (a list entry), a mapping of id to ``{"params": ...}`` (the detail), or a list of
    ``{"hardware_type_id", "params"}``."""
    ids: list[str] = []
    lengths: dict[str, int] = {}
    entries: list[tuple[Any, Any]] = []
    if isinstance(configs, dict):
        entries = list(configs.items())
    elif isinstance(configs, list):
        for config in configs:
            if isinstance(config, str):
                entries.append((config, None))
            elif isinstance(config, dict):
                entries.append((config.get("hardware_type_id"), config))
    for hw, cfg in entries:
        if not isinstance(hw, str) or not hw:
            continue
        ids.append(hw)
        maximum = _max_context(cfg.get("params")) if isinstance(cfg, dict) else None
        if maximum is not None:
            lengths[hw] = maximum
    return ids, lengths


class ModelPreview(_ReadModel):
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
    size: int | float | str | None = None
    instant_provisioned: bool = False
    hardware_configs: list[str] = Field(default_factory=list)
    recommended_config: str | None = None
    max_context_lengths: dict[str, int] = Field(default_factory=dict)

    _empty_strings = field_validator("hf_name", "screen_name", "description", mode="before")(
        _none_is("")
    )
    _false = field_validator("instant_provisioned", mode="before")(_none_is(False))

    @model_validator(mode="before")
    @classmethod
    def _read_either_era(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        # Like the official client: a model_name, when given, is the id.
        if isinstance(data.get("model_name"), str) and data["model_name"].strip():
            data["model_id"] = to_model_id(data["model_name"])
        info = data.get("hardware_info")
        info = info if isinstance(info, dict) else {}
        ids, lengths = _read_hardware_configs(data.get("hardware_configs"))
        nested_ids, nested_lengths = _read_hardware_configs(info.get("hardware_configs"))
        data["hardware_configs"] = ids or nested_ids
        data.setdefault("max_context_lengths", lengths or nested_lengths)
        if not data.get("recommended_config") and isinstance(info.get("recommended_config"), str):
            data["recommended_config"] = info["recommended_config"]
        return data

    @model_validator(mode="after")
    def _default_hf_name(self) -> ModelPreview:
        if not self.hf_name:
            object.__setattr__(self, "hf_name", to_hf_name(self.model_id))
        return self


class PriceInfo(_ReadModel):
    price_per_hour: float
    price_per_minute: float
    currency: str


class HardwareType(_ReadModel):
    """A hardware type with its price and free-form specs (GPU name, count, VRAM...)."""

    hardware_type_id: str = Field(examples=["NVIDIA_L4_1"])
    price_info: PriceInfo
    hardware_info: dict[str, Any] = Field(default_factory=dict)

    _hardware_info = field_validator("hardware_info", mode="before")(_none_is({}))


T = TypeVar("T", bound=BaseModel)
_ID_KEYS = ("instance_id", "model_id", "model_name", "hardware_type_id")


class Unreadable(BaseModel):
    """An item of a list the client could not read: where it was, why, and the item itself."""

    model_config = ConfigDict(frozen=True)

    index: int
    reason: str
    item: Any


class ReadList(list[T]):
    """The items of a list that could be read, in order; ``unreadable`` holds the others."""

    def __init__(self, items: Iterable[T] = (), unreadable: Iterable[Unreadable] = ()) -> None:
        super().__init__(items)
        self.unreadable: list[Unreadable] = list(unreadable)


def _reason(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "item"
    more = f" and {error.error_count() - 1} more" if error.error_count() > 1 else ""
    return f"{location}: {first['msg']}{more}"


def parse_list(model: type[T], items: Any) -> ReadList[T]:
    """Read each of ``items`` as a ``model``, leaving out (and logging) those that cannot be.

    Only a non-list fails (``TypeError``): that is not the answer of this API at all.
    """
    if not isinstance(items, list):
        raise TypeError(f"a JSON {type(items).__name__} where a list belongs")
    read: list[T] = []
    unreadable: list[Unreadable] = []
    for index, item in enumerate(items):
        try:
            read.append(model.model_validate(item))
        except pydantic.ValidationError as error:
            unreadable.append(Unreadable(index=index, reason=_reason(error), item=item))
            identity = next(
                (item[k] for k in _ID_KEYS if isinstance(item, dict) and k in item), "no id"
            )
            logger.warning(
                "Left out item %d (%s) of a list of %s this client cannot read: %s",
                index,
                identity,
                model.__name__,
                unreadable[-1].reason,
            )
    return ReadList(read, unreadable)


def parse_models(items: Any) -> ReadList[ModelPreview]:
    """``GET /models/``'s ``models``, item by item (see :func:`parse_list`)."""
    return parse_list(ModelPreview, items)


def parse_hardware_types(items: Any) -> ReadList[HardwareType]:
    """``GET /hardware-types/``'s ``hardware_types``, item by item (see :func:`parse_list`)."""
    return parse_list(HardwareType, items)


def parse_instances(items: Any) -> ReadList[Instance]:
    """``GET /instances/``'s ``instances``, item by item (see :func:`parse_list`)."""
    return parse_list(Instance, items)


def similar_models(name: str, models: Sequence[ModelPreview]) -> list[str]:
    """Up to three catalog models close to ``name``, named as ``name`` is: Hugging Face names
    (``org/model``) for a Hugging Face name, API ids (``org--model``) for an id."""
    by_id = {model.model_id: model for model in models}
    close = difflib.get_close_matches(to_model_id(name), list(by_id), n=3)
    return close if "--" in name else [by_id[model_id].hf_name for model_id in close]
