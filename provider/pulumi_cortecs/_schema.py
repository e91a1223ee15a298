"""The properties of a cortecs.ai instance as a Pulumi resource, and the provider's config,
declared once.

Each property is a field of :class:`InstanceInputs` (what a program declares) or
:class:`InstanceState` (what the resource holds after apply), with its Python type, default
and a :class:`Property` describing the rest: whether a change replaces the instance or
updates it, whether it is sent to the API when starting, how an input is checked, whether it
is secret, and its description. Everything that names a property derives from these two
classes: ``ManagedInstanceArgs`` and the resource's output annotations, parsing and checking
inputs, the diff, the start request, the outputs, matching an instance to a resource, the
README's tables and the Pulumi package schema.

Nothing here imports Pulumi, httpx or pydantic: a Pulumi program loads this module.
"""

from __future__ import annotations

import copy
import math
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from enum import Enum
from typing import Any, Protocol

from pulumi_cortecs._owner import OWNER_FORMS, Owner
from pulumi_cortecs._pricing import PER_HOUR, PER_MINUTE
from pulumi_cortecs._urls import has_userinfo

BILLING_INTERVALS: tuple[str, ...] = (PER_MINUTE, PER_HOUR)
MIN_WORKERS = 1
MAX_WORKERS = 8
DEFAULT_WAIT_TIMEOUT_SECONDS = 1800.0

# How the names of credentials end, once lower-cased without separators: ``OPENAI_API_KEY``,
# ``apiKey``, ``x-api-key``, ``Proxy-Authorization``, ``client_secret``, ``access_token``... A
# suffix, so that ``max_tokens`` and ``tiktoken_model_name`` (ChatOpenAI's own) are not one.
CREDENTIAL_KEY_ENDINGS: tuple[str, ...] = (
    "apikey",
    "accesskey",
    "privatekey",
    "secretkey",
    "subscriptionkey",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "auth",
    "authorization",
    "bearer",
    "cookie",
    "credential",
    "credentials",
)
# A Hugging Face name (``org/model``, or a bare ``model``) or the API's id (``org--model``):
# what can be put into a URL's path as it is, and what the catalog can hold.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
# Past these lengths a value is abbreviated in messages: a number in scientific notation, a
# text cut (``1e308`` as an int has 309 digits; a message should still fit on a screen).
_LONGEST_NUMBER = 15
_LONGEST_TEXT = 60


class Change(Enum):
    """What a changed input does to the instance."""

    REPLACE = "replace"  # the API cannot change it in place: a new instance replaces the old
    UPDATE = "update"  # applied to the same instance


class Rule(Protocol):
    """How an input's value is checked: ``parse`` returns it normalised or raises ValueError
    saying what is allowed; ``allowed`` says it for the documentation."""

    @property
    def allowed(self) -> str: ...

    def parse(self, value: Any) -> Any: ...


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
    secret: bool = False
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
        head, *rest = self.name.split("_")
        return head + "".join(part.capitalize() for part in rest)


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


# -- rules -------------------------------------------------------------------------------------


def shown(value: Any) -> str:
    """``value`` as a message quotes it: its repr, a long number abbreviated (``1e+308``,
    ``1.234e+39``) and a long text cut."""
    text = repr(value)
    if isinstance(value, bool):
        return text
    if isinstance(value, int | float):
        return text if len(text) <= _LONGEST_NUMBER else _scientific(value)
    return text if len(text) <= _LONGEST_TEXT else f"{text[: _LONGEST_TEXT - 1]}…"


def _scientific(number: int | float) -> str:
    if isinstance(number, float):
        return f"{number:.4g}"
    # Digit by digit: an int can be too large for a float.
    sign, digits = ("-" if number < 0 else ""), str(abs(number))
    fraction = digits[1:4].rstrip("0")
    return f"{sign}{digits[0]}{'.' + fraction if fraction else ''}e+{len(digits) - 1}"


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (never a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class ModelName:
    """A Hugging Face name (``org/model``) or the API's id (``org--model``), as the API's id."""

    allowed: str = "a Hugging Face model name such as 'org/model'"

    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be {self.allowed}, got {shown(value)}")
        # Refused here, not only encoded into the URL: no model has such a name, and a '?' or
        # a '#' would otherwise pass preview and fail `up`.
        if not _MODEL_NAME.fullmatch(value.strip()):
            raise ValueError(
                f"must be {self.allowed}: letters, digits, '-', '_' and '.', with one '/' "
                f"after the organisation; got {shown(value)}"
            )
        return to_model_id(value)


@dataclass(frozen=True)
class OwnerName:
    """The resource an instance belongs to: its URN (or, in older records, its
    ``project/stack/resource``)."""

    allowed: str = OWNER_FORMS

    def parse(self, value: Any) -> str:
        return str(Owner.parse(value))


@dataclass(frozen=True)
class Text:
    allowed: str = "a non-empty string"

    def parse(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be {self.allowed}, got {shown(value)}")
        return value.strip()


@dataclass(frozen=True)
class WholeNumber:
    low: int
    high: int | None = None

    @property
    def allowed(self) -> str:
        if self.high is None:
            return f"a whole number of at least {self.low}"
        return f"a whole number from {self.low} to {self.high}"

    def parse(self, value: Any) -> int:
        # Floats are how the wire sends numbers: 8000.0 is 8000, but 8000.5, inf and nan are
        # not whole numbers. Ints are exact at any size.
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            real = _finite(value)
            if real is None or not real.is_integer():
                raise ValueError(f"must be {self.allowed}, got {shown(value)}")
            number = int(real)
        if number < self.low or (self.high is not None and number > self.high):
            raise ValueError(f"must be {self.allowed}, got {shown(number)}")
        return number


@dataclass(frozen=True)
class OneOf:
    values: tuple[str, ...]

    @property
    def allowed(self) -> str:
        return f"one of {', '.join(self.values)}"

    def parse(self, value: Any) -> str:
        if value not in self.values:
            raise ValueError(f"must be {self.allowed}, got {shown(value)}")
        return str(value)


@dataclass(frozen=True)
class Flag:
    allowed: str = "true or false"

    def parse(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be {self.allowed}, got {shown(value)}")
        return value


@dataclass(frozen=True)
class PositiveNumber:
    allowed: str = "a finite number greater than 0"

    def parse(self, value: Any) -> float:
        number = _finite(value)
        if number is None or not number > 0:
            raise ValueError(f"must be {self.allowed}, got {shown(value)}")
        return number


_DURATION = re.compile(r"([0-9]+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LONGEST_DURATION_SECONDS = 365 * 86400  # past a year, a lease is no stop at all


@dataclass(frozen=True)
class Duration:
    """A length of time: ``"90s"``, ``"45m"``, ``"8h"``, ``"2d"``, or a whole number of
    seconds; kept as written (a number as ``"5400s"``), read with :func:`duration_seconds`."""

    allowed: str = (
        'a duration such as "90s", "45m", "8h" or "2d" (a whole number of seconds, minutes, '
        "hours or days), or a whole number of seconds, greater than 0 and at most 365d"
    )

    def parse(self, value: Any) -> str:
        number = _finite(value)
        if isinstance(value, str):
            text = value.strip()
            seconds = duration_seconds(text) if _DURATION.fullmatch(text) else None
        elif number is not None and number.is_integer():
            seconds = int(number)
            text = f"{seconds}s"
        else:
            seconds = None
        if seconds is None or not 0 < seconds <= LONGEST_DURATION_SECONDS:
            raise ValueError(f"must be {self.allowed}, got {shown(value)}")
        return text


def duration_seconds(text: str) -> int:
    """The seconds of a duration :class:`Duration` accepted (``"8h"`` is 28800)."""
    found = _DURATION.fullmatch(text)
    if found is None:
        raise ValueError(f"not a duration: {shown(text)}")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


@dataclass(frozen=True)
class ChatKwargs:
    allowed: str = "a mapping of ChatOpenAI keyword arguments, without credentials"

    def parse(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValueError(
                f"must be a mapping of ChatOpenAI keyword arguments, got {shown(value)}"
            )
        # Sorted: the engine does not keep the order of a mapping's keys.
        credentials = sorted(credential_paths(value))
        if credentials:
            # Named by where they are, never by their values.
            raise ValueError(
                f"must not carry credentials ({', '.join(credentials)}): inputs and outputs "
                "are kept in state and shown in diffs. chat_model() passes the instances' key "
                "(CORTECS_API_KEY); give other credentials where you build it (e.g. "
                "chat_model(outputs, default_headers=...))"
            )
        return dict(value)


def credential_paths(value: Any, path: str = "") -> list[str]:
    """Where ``value`` holds a credential, at any depth: each key named like one (in any case
    and spelling), and each URL with a user or password, as a path (``default_headers.
    Authorization``, ``proxies[0]``)."""
    if isinstance(value, Mapping):
        found: list[str] = []
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if _is_credential_key(str(key)):
                found.append(here)
            else:
                found += credential_paths(item, here)
        return found
    if isinstance(value, list | tuple):
        return [
            inner
            for index, item in enumerate(value)
            for inner in credential_paths(item, f"{path}[{index}]")
        ]
    if isinstance(value, str) and has_userinfo(value):
        return [f"{path} (a URL with a user or password)"]
    return []


def _is_credential_key(key: str) -> bool:
    return re.sub(r"[^a-z0-9]", "", key.lower()).endswith(CREDENTIAL_KEY_ENDINGS)


def to_model_id(name: str) -> str:
    """The API's model id for a Hugging Face name: ``org/model`` becomes ``org--model``."""
    return name.strip().replace("/", "--")


def to_hf_name(model_id: str) -> str:
    """The Hugging Face name (what an OpenAI-compatible endpoint expects) for a model id."""
    return model_id.replace("--", "/")


# -- the resource ------------------------------------------------------------------------------

_STARTED_WITH = "; changing it starts a new instance"


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


NAMESPACE = "cortecs"
CLIENT_ID = ConfigKey("clientId", "CORTECS_CLIENT_ID", "OAuth2 client id")
CLIENT_SECRET = ConfigKey(
    "clientSecret", "CORTECS_CLIENT_SECRET", "OAuth2 client secret", secret=True
)
API_BASE_URL = ConfigKey(
    "apiBaseUrl", "CORTECS_API_BASE_URL", "the API; default `https://cortecs.ai/api/v1`"
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
