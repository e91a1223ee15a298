"""The inputs of a ManagedInstance: names, defaults, and how each one is parsed from the wire.

The engine sends numbers as floats and, at preview, computed values as an unknown sentinel, so
parsing here is lenient about representation (``8000.0`` is ``8000``) and strict about meaning,
with one failure per property that names the property and what it accepts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.output import Unknown

from pulumi_cortecs.api._models import (
    BILLING_INTERVALS,
    MAX_WORKERS,
    MIN_WORKERS,
    InstanceArgs,
    to_model_id,
)

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's stand-in on the wire for a value not known until apply (a computed input)."""


def is_unknown(value: Any) -> bool:
    """Whether a value is unknown at preview: the SDK's server hands the sentinel over as
    :class:`pulumi.output.Unknown`."""
    return isinstance(value, Unknown) or value == UNKNOWN


DEFAULT_WAIT_TIMEOUT_SECONDS = 1800.0

REPLACE_PROPERTIES = (
    "model_id",
    "hardware_type_id",
    "context_length",
    "billing_interval",
    "num_workers",
)
"""Changing any of these starts a new instance: the API cannot change them in place."""

UPDATE_PROPERTIES = (
    "chat_openai_kwargs",
    "running",
    "readiness_probe",
    "adopt_existing",
    "wait_timeout_seconds",
    "max_price_per_hour",
)
"""Changing any of these keeps the instance (``running`` stops or restarts it in place)."""

INPUT_PROPERTIES = REPLACE_PROPERTIES + UPDATE_PROPERTIES

CREDENTIAL_KEYS = frozenset({"api_key", "openai_api_key", "client_secret", "token", "access_token"})


@dataclass(frozen=True)
class Failure:
    property: str
    reason: str


@dataclass(frozen=True)
class InstanceInputs:
    """Checked inputs, with defaults applied; ``None`` leaves the choice to the API."""

    model_id: str
    hardware_type_id: str | None = None
    context_length: int | None = None
    billing_interval: str | None = None
    num_workers: int | None = None
    chat_openai_kwargs: dict[str, Any] = field(default_factory=dict)
    running: bool = True
    readiness_probe: bool = True
    adopt_existing: bool = True
    wait_timeout_seconds: float = DEFAULT_WAIT_TIMEOUT_SECONDS
    max_price_per_hour: float | None = None

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> InstanceInputs:
        """Inputs from properties that already passed :func:`parse_inputs` (or outputs)."""
        parsed, failures = parse_inputs(props, allow_extra=True)
        if failures:
            raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in failures))
        return cls(**parsed)

    def instance_args(self) -> InstanceArgs:
        return InstanceArgs(
            model_id=self.model_id,
            hardware_type_id=self.hardware_type_id,
            context_length=self.context_length,
            billing_interval=self.billing_interval,
            num_workers=self.num_workers,
        )

    def to_props(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INPUT_PROPERTIES}


def parse_inputs(
    props: Mapping[str, Any], *, allow_extra: bool = False
) -> tuple[dict[str, Any], list[Failure]]:
    """Normalise the inputs the engine sent; unknown values are passed through untouched."""
    failures: list[Failure] = []
    parsed: dict[str, Any] = {}

    def parse(name: str, parser: Any, default: Any = None) -> None:
        value = props.get(name)
        if value is None:
            parsed[name] = default
        elif is_unknown(value):
            parsed[name] = value
        else:
            try:
                parsed[name] = parser(name, value)
            except ValueError as error:
                failures.append(Failure(name, str(error)))

    parse("model_id", _model_id)
    if props.get("model_id") is None:
        failures.append(
            Failure("model_id", "is required: a Hugging Face model name such as 'org/model'")
        )
    parse("hardware_type_id", _non_empty_string)
    parse("context_length", _whole_number(1, None))
    parse("billing_interval", _billing_interval)
    parse("num_workers", _whole_number(MIN_WORKERS, MAX_WORKERS))
    parse("chat_openai_kwargs", _chat_openai_kwargs, {})
    parse("running", _boolean, True)
    parse("readiness_probe", _boolean, True)
    parse("adopt_existing", _boolean, True)
    parse("wait_timeout_seconds", _positive_number, DEFAULT_WAIT_TIMEOUT_SECONDS)
    parse("max_price_per_hour", _positive_number)

    if not allow_extra:
        for name in sorted(set(props) - set(INPUT_PROPERTIES) - {"__provider"}):
            failures.append(
                Failure(name, f"is not an input of ManagedInstance; inputs are {_names()}")
            )
    return parsed, failures


def _names() -> str:
    return ", ".join(INPUT_PROPERTIES)


def _model_id(_name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a Hugging Face model name such as 'org/model', got {value!r}")
    return to_model_id(value)


def _non_empty_string(_name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value.strip()


def _whole_number(low: int, high: int | None) -> Any:
    allowed = (
        f"a whole number from {low} to {high}" if high else f"a whole number of at least {low}"
    )

    def parse(_name: str, value: Any) -> int:
        # bool is an int in Python but never a count; floats are how the wire sends numbers.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be {allowed}, got {value!r}")
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            raise ValueError(f"must be {allowed}, got {value!r}")
        number = int(value)
        if number < low or (high is not None and number > high):
            raise ValueError(f"must be {allowed}, got {number}")
        return number

    return parse


def _billing_interval(_name: str, value: Any) -> str:
    if value not in BILLING_INTERVALS:
        raise ValueError(f"must be one of {', '.join(BILLING_INTERVALS)}, got {value!r}")
    return str(value)


def _boolean(_name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _positive_number(_name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"must be a number greater than 0, got {value!r}")
    return float(value)


def _chat_openai_kwargs(_name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a mapping of ChatOpenAI keyword arguments, got {value!r}")
    credentials = sorted(CREDENTIAL_KEYS & set(value))
    if credentials:
        raise ValueError(
            f"must not carry credentials ({', '.join(credentials)}): outputs are stored in "
            "plain text; ChatOpenAI reads the key from OPENAI_API_KEY"
        )
    return dict(value)
