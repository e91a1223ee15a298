"""A ManagedInstance's inputs as the engine sends them, parsed by the rules of the schema.

The engine sends numbers as floats and, at preview, computed values as an unknown sentinel, so
parsing is lenient about representation (``8000.0`` is ``8000``) and strict about meaning, with
one failure per property that names the property and what it accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.output import Unknown

from pulumi_cortecs._schema import (
    INPUTS,
    PYTHON_NAMING,
    START_ARGS,
    USER_INPUTS,
    InstanceInputs,
    Naming,
    names,
)

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's stand-in on the wire for a value not known until apply (a computed input)."""


def is_unknown(value: Any) -> bool:
    """Whether a value is unknown at preview: the SDK's server hands the sentinel over as
    :class:`pulumi.output.Unknown`."""
    return isinstance(value, Unknown) or value == UNKNOWN


@dataclass(frozen=True)
class Failure:
    """An input a check refuses: the property (``""`` for the provider's config) and why."""

    property: str
    reason: str


def parse_inputs(
    props: Mapping[str, Any], *, allow_extra: bool = False, naming: Naming = PYTHON_NAMING
) -> tuple[dict[str, Any], list[Failure]]:
    """Normalise the inputs the engine sent; unknown values are passed through untouched. A
    property the resource lacks is named as sent; the message names the resource and its
    inputs as ``naming`` has them."""
    failures: list[Failure] = []
    parsed: dict[str, Any] = {}
    for prop in INPUTS:
        value = props.get(prop.name)
        if value is None:
            if prop.required:
                failures.append(Failure(prop.name, f"is required: {prop.allowed}"))
            parsed[prop.name] = prop.default_value()
        elif is_unknown(value):
            parsed[prop.name] = value
        else:
            try:
                parsed[prop.name] = prop.check(value)
            except ValueError as error:
                failures.append(Failure(prop.name, str(error)))
    if not allow_extra:
        inputs = ", ".join(map(naming, names(USER_INPUTS)))
        for name in sorted(set(props) - set(names(INPUTS)) - {"__provider"}):
            failures.append(
                Failure(name, f"is not an input of {naming.resource}; inputs are {inputs}")
            )
    return parsed, failures


def checked_inputs(props: Mapping[str, Any]) -> InstanceInputs:
    """Inputs from properties that already passed :func:`parse_inputs` (or outputs)."""
    parsed, failures = parse_inputs(props, allow_extra=True)
    if failures:
        raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in failures))
    return InstanceInputs(**parsed)


def input_props(inputs: InstanceInputs) -> dict[str, Any]:
    """The inputs as properties, every one of them (the engine replaces outputs wholesale)."""
    return {name: getattr(inputs, name) for name in names(INPUTS)}


def start_args(inputs: InstanceInputs) -> dict[str, Any]:
    """The inputs sent to the API when starting; ``None`` leaves the choice to it."""
    return {name: getattr(inputs, name) for name in names(START_ARGS)}
