"""The properties of a cortecs.ai instance as a Pulumi resource, and the provider's config,
declared once.

Each property is a field of :class:`InstanceInputs` (what a program declares) or
:class:`InstanceState` (what the resource holds after apply), with its Python type, default and
a :class:`Property` describing the rest: whether a change replaces the instance or updates it,
whether it is sent to the API when starting, how an input is checked, which input's values an
output carries (and so its secrets), and its description. Everything that names a property
derives from these two classes: ``ManagedInstanceArgs`` and the resource's output annotations,
parsing and checking inputs, the diff, the start request, the outputs, matching an instance to a
resource, the README's tables and the Pulumi package schema.

Nothing here imports Pulumi, httpx or pydantic: a Pulumi program loads this module.
"""

from __future__ import annotations

import copy
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from enum import Enum
from typing import Any

from pulumi_cortecs._pricing import PER_HOUR, PER_MINUTE
from pulumi_cortecs._rules import (
    ChatKwargs,
    Duration,
    Flag,
    ModelName,
    OneOf,
    OwnerName,
    PositiveNumber,
    Rule,
    Text,
    WholeNumber,
)
from pulumi_cortecs._urls import DEFAULT_API_BASE_URL

BILLING_INTERVALS: tuple[str, ...] = (PER_MINUTE, PER_HOUR)
MIN_WORKERS = 1
MAX_WORKERS = 8
DEFAULT_WAIT_TIMEOUT_SECONDS = 1800.0


class Change(Enum):
    """What a changed input does to the instance."""

    REPLACE = "replace"  # the API cannot change it in place: a new instance replaces the old
    UPDATE = "update"  # applied to the same instance


@dataclass(frozen=True)
class Property:
    """One property of the resource, as everything that names it needs to know it."""

    name: str
    python_type: type
    description: str
    change: Change | None  # None: an output the API or the provider computes
    default: Any = None  # what an unset input becomes (None: unset, the API decides)
    required: bool = False
    start_arg: bool = False  # sent in POST /instances/start, and resolved by the API
    # An output's: the input whose values it carries; it is secret when that input may be.
    carries: str | None = None
    nullable: bool = False  # an output that may be null
    rule: Rule | None = None
    api_default: Any = None  # what the API picks when a start argument is unset, if fixed
    default_doc: str | None = None  # the README's wording of a default the API decides
    internal: bool = False  # set by the provider's own code, never by a program's author

    @property
    def is_input(self) -> bool:
        return self.change is not None

    @property
    def allowed(self) -> str:
        """What an input accepts, in words."""
        return self.rule.allowed if self.rule else ""

    def check(self, value: Any) -> Any:
        """A known input value, normalised; ValueError saying what is allowed."""
        if self.rule is None:
            raise ValueError(f"{self.name} is an output, not an input")
        return self.rule.parse(value)

    def default_value(self) -> Any:
        """What an unset input becomes: a copy, so no two resources share a mutable default."""
        return copy.copy(self.default)

    @property
    def camel_name(self) -> str:
        """The name in Pulumi's package schema and in YAML programs (``modelId``)."""
        return _camel(self.name)


_PROPERTY = "property"


def _input(
    description: str,
    *,
    change: Change,
    rule: Rule,
    default: Any = None,
    required: bool = False,
    start_arg: bool = False,
    api_default: Any = None,
    default_doc: str | None = None,
    internal: bool = False,
) -> Any:
    spec = {
        "description": description,
        "change": change,
        "rule": rule,
        "default": default,
        "required": required,
        "start_arg": start_arg,
        "api_default": api_default,
        "default_doc": default_doc,
        "internal": internal,
    }
    if required:
        return field(metadata={_PROPERTY: spec})
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={_PROPERTY: spec})
    return field(default=default, metadata={_PROPERTY: spec})


def _output(description: str, *, nullable: bool = False, carries: str | None = None) -> Any:
    spec = {"description": description, "change": None, "nullable": nullable, "carries": carries}
    return field(default=None, metadata={_PROPERTY: spec})


# -- the resource ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InstanceInputs:
    """A ManagedInstance's inputs after check: defaults applied; ``None`` leaves the choice to
    the API."""

    model_id: str = _input(
        "Hugging Face name (`org/model`) or API id (`org--model`); normalised to the id",
        change=Change.REPLACE,
        rule=ModelName(),
        required=True,
        start_arg=True,
    )
    hardware_type_id: str | None = _input(
        "e.g. `NVIDIA_L4_1`; must be one the model runs on",
        change=Change.REPLACE,
        rule=Text(),
        start_arg=True,
        default_doc="the model's recommended hardware",
    )
    context_length: int | None = _input(
        "whole number, at most the hardware's maximum for the model",
        change=Change.REPLACE,
        rule=WholeNumber(1),
        start_arg=True,
        default_doc="min(32000, the hardware's maximum)",
    )
    billing_interval: str | None = _input(
        "`per_minute` or `per_hour`",
        change=Change.REPLACE,
        rule=OneOf(BILLING_INTERVALS),
        start_arg=True,
        api_default=BILLING_INTERVALS[0],
    )
    num_workers: int | None = _input(
        f"{MIN_WORKERS} to {MAX_WORKERS}",
        change=Change.REPLACE,
        rule=WholeNumber(MIN_WORKERS, MAX_WORKERS),
        start_arg=True,
        api_default=MIN_WORKERS,
    )
    chat_openai_kwargs: dict[str, Any] = _input(
        "extra `ChatOpenAI` arguments (e.g. `temperature`) merged into `chat_openai_args`; "
        "credentials (keys named like one, URLs with a password) are refused at any depth",
        change=Change.UPDATE,
        rule=ChatKwargs(),
        default={},
    )
    running: bool = _input(
        "`false` stops the instance in place (keeps its id); `true` restarts it",
        change=Change.UPDATE,
        rule=Flag(),
        default=True,
    )
    readiness_probe: bool = _input(
        "after `running`, wait until a one-token chat completion succeeds",
        change=Change.UPDATE,
        rule=Flag(),
        default=True,
    )
    adopt_existing: bool = _input(
        "take an instance whose ownership is inferred: the one an interrupted `up` of this "
        "resource started (its journal record), or the only new instance after a start whose "
        "answer was lost; `false` infers nothing and fails instead (for stacks on other "
        "machines that start identical instances at the same moment)",
        change=Change.UPDATE,
        rule=Flag(),
        default=True,
    )
    wait_timeout_seconds: float = _input(
        "how long create/restart may take (customTimeouts do not reach dynamic providers)",
        change=Change.UPDATE,
        rule=PositiveNumber(),
        default=DEFAULT_WAIT_TIMEOUT_SECONDS,
    )
    max_price_per_hour: float | None = _input(
        "preview fails when price per hour × workers is above it",
        change=Change.UPDATE,
        rule=PositiveNumber(),
        default_doc="none",
    )
    auto_stop_after: str | None = _input(
        "stop the instance this long after each `up` that starts it, restarts it or changes "
        'this: `"90s"`, `"45m"`, `"8h"`, `"2d"` or seconds; a lease in the journal that '
        "`cortecs-instances reap` enforces, and the next `up` restarts it",
        change=Change.UPDATE,
        rule=Duration(),
        default_doc="never",
    )
    owner: str | None = _input(
        "the resource an instance belongs to (its URN); only a start this "
        "resource wrote ahead in the journal lets it adopt an instance",
        change=Change.UPDATE,
        rule=OwnerName(),
        internal=True,
    )


@dataclass(frozen=True, kw_only=True)
class InstanceState(InstanceInputs):
    """What a ManagedInstance holds after apply: every input, resolved to what the API chose,
    and what the API reports."""

    instance_id: str = _output("the API's id (`instance-…`), also the resource id")
    base_url: str | None = _output(
        "the OpenAI-compatible endpoint; `null` while stopped", nullable=True
    )
    status: str = _output("`pending`, `running` or `stopped` (as of the last up or refresh)")
    model_name: str = _output("the Hugging Face name, what the endpoint expects as `model`")
    started_at: str | None = _output(
        "ISO 8601 time the instance last became running", nullable=True
    )
    price_per_hour: float | None = _output("the hardware's price; known at preview", nullable=True)
    currency: str | None = _output("the currency of the prices; known at preview", nullable=True)
    estimated_cost_per_hour: float | None = _output(
        "price per hour × workers; known at preview", nullable=True
    )
    stops_at: str | None = _output(
        "ISO 8601 time `auto_stop_after` runs out and `reap` stops the instance; `null` "
        "without it or while stopped",
        nullable=True,
    )
    chat_openai_args: dict[str, Any] = _output(
        '`{"model_name", "base_url", **chat_openai_kwargs}` for `ChatOpenAI`',
        carries="chat_openai_kwargs",
    )


def _properties(cls: type) -> tuple[Property, ...]:
    hints = typing.get_type_hints(cls)
    found = []
    for declared in fields(cls):
        spec = declared.metadata[_PROPERTY]
        default = spec.get("default")
        if declared.default_factory is not MISSING:
            default = declared.default_factory()
        found.append(
            Property(
                name=declared.name,
                python_type=_known_type(hints[declared.name]),
                **{**spec, "default": default},
            )
        )
    return tuple(found)


def _known_type(hint: Any) -> type:
    """``str`` for ``str | None``, ``dict`` for ``dict[str, Any]``: the type of a known value."""
    if isinstance(hint, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    origin = typing.get_origin(hint)
    return origin if isinstance(origin, type) else hint


PROPERTIES: tuple[Property, ...] = _properties(InstanceState)
"""Every property, inputs first, in declaration order."""
INPUTS: tuple[Property, ...] = tuple(p for p in PROPERTIES if p.is_input)
OUTPUTS: tuple[Property, ...] = tuple(p for p in PROPERTIES if not p.is_input)
"""The properties only the provider sets (every input is an output too)."""
USER_INPUTS: tuple[Property, ...] = tuple(p for p in INPUTS if not p.internal)
"""The inputs a program's author sets (the provider sets the internal ones itself)."""
START_ARGS: tuple[Property, ...] = tuple(p for p in INPUTS if p.start_arg)
"""The inputs sent to ``POST /instances/start``: an instance was started for a resource only
if the API resolved these to what the resource resolves them to."""


def names(properties: Sequence[Property]) -> tuple[str, ...]:
    return tuple(p.name for p in properties)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Naming:
    """How a provider's users name the resource and its properties, so that its messages speak
    their language: ``ManagedInstance`` and ``model_id`` in Python, ``cortecs:index:Instance``
    and ``modelId`` in the native provider's YAML, TypeScript, Go..."""

    resource: str
    camel_case: bool = False

    def __call__(self, name: str) -> str:
        """A property's name as these users write it."""
        return _camel(name) if self.camel_case else name


PYTHON_NAMING = Naming("ManagedInstance")


# -- the provider's configuration ---------------------------------------------------------------


@dataclass(frozen=True)
class ConfigKey:
    """A key of the provider's stack config (``cortecs:<key>``) and its environment fallback."""

    key: str
    environment: str
    description: str
    secret: bool = False

    def value(self, given: Any, environ: Mapping[str, str] | None = None) -> str | None:
        """``given`` if set, else the environment variable; ``None`` when neither is."""
        found = given or (os.environ if environ is None else environ).get(self.environment)
        return str(found) if found else None

    def padding(self, value: str | None, named: str) -> str | None:
        """Why ``value`` cannot be used, if it has whitespace around it (a newline from a file or
        `echo`), which every server refuses or the HTTP header it goes into breaks on: said of
        ``named`` (how the user set it), never showing the value."""
        if not value or value == value.strip():
            return None
        return (
            f"{named} has whitespace before or after it, such as a trailing newline from a file "
            "or `echo`: set it again without (its value is not shown)"
        )


NAMESPACE = "cortecs"
CLIENT_ID = ConfigKey("clientId", "CORTECS_CLIENT_ID", "OAuth2 client id")
CLIENT_SECRET = ConfigKey(
    "clientSecret", "CORTECS_CLIENT_SECRET", "OAuth2 client secret", secret=True
)
API_BASE_URL = ConfigKey(
    "apiBaseUrl", "CORTECS_API_BASE_URL", f"the API; default `{DEFAULT_API_BASE_URL}`"
)
API_KEY = ConfigKey(
    "apiKey",
    "CORTECS_API_KEY",
    "the instances' API key, for the readiness probe",
    secret=True,
)
JOURNAL_DIR = ConfigKey(
    "journalDir",
    "CORTECS_JOURNAL_DIR",
    "where starts are written ahead until the engine has their instance; default "
    "`$XDG_STATE_HOME/pulumi-cortecs/journal` (`~/.local/state/...`)",
)
JOURNAL_URL = ConfigKey(
    "journalUrl",
    "CORTECS_JOURNAL_URL",
    "the journal in S3 (`s3://BUCKET/PREFIX`), shared by every runner; wins over journalDir. "
    "Endpoint and credentials from the AWS environment; needs the `s3` extra",
)
CONFIG: tuple[ConfigKey, ...] = (
    CLIENT_ID,
    CLIENT_SECRET,
    API_BASE_URL,
    API_KEY,
    JOURNAL_DIR,
    JOURNAL_URL,
)
