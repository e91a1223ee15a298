"""Between the engine's property values and the lifecycle's plain properties.

The engine speaks ``PropertyValue`` maps keyed in camelCase (``modelId``), numbers as floats,
secrets marked on the value; the lifecycle takes and returns plain Python values keyed as the
schema names them (``model_id``). Secrets are unwrapped on the way in and marked again on the
way out: an output is secret when the input of the same name was, and ``chat_openai_args`` is
secret when any part of ``chat_openai_kwargs`` was (it carries those values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.provider.experimental.property_value import PropertyValue

from pulumi_cortecs._schema import PROPERTIES

_SNAKE = {prop.camel_name: prop.name for prop in PROPERTIES}
_CAMEL = {prop.name: prop.camel_name for prop in PROPERTIES if not prop.internal}
# An output that carries an input's values is as secret as any part of that input.
_CARRIES = {prop.name: prop.carries for prop in PROPERTIES if prop.carries is not None}


def plain(value: PropertyValue) -> Any:
    """The value with every secret unwrapped (lists and maps included)."""
    inner = value.value
    if isinstance(inner, tuple):
        return [plain(item) for item in inner]
    if isinstance(inner, Mapping):
        return {key: plain(item) for key, item in inner.items()}
    return inner


def has_secret(value: PropertyValue) -> bool:
    """Whether the value, or anything inside it, is secret."""
    inner = value.value
    if value.is_secret:
        return True
    if isinstance(inner, tuple):
        return any(has_secret(item) for item in inner)
    if isinstance(inner, Mapping):
        return any(has_secret(item) for item in inner.values())
    return False


def to_props(values: Mapping[str, PropertyValue]) -> tuple[dict[str, Any], set[str]]:
    """Plain properties by schema name, and the names whose values hold a secret. Keys the
    schema does not know are kept as sent, so that a check can name them."""
    props = {_SNAKE.get(key, key): plain(value) for key, value in values.items()}
    secret = {_SNAKE.get(key, key) for key, value in values.items() if has_secret(value)}
    return props, secret


def to_values(props: Mapping[str, Any], secret: Iterable[str] = ()) -> dict[str, PropertyValue]:
    """Property values in camelCase for the engine; internal properties stay out, and the
    outputs of secret inputs, and those carrying them, are marked secret."""
    marked = set(secret)
    marked |= {output for output, source in _CARRIES.items() if source in marked}
    return {
        _CAMEL[name]: _value(value, is_secret=name in marked)
        for name, value in props.items()
        if name in _CAMEL
    }


def camel(name: str) -> str:
    """The engine's name for a property (a failure names it so)."""
    return _CAMEL.get(name, name)


def _value(value: Any, *, is_secret: bool = False) -> PropertyValue:
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        inner: Any = value
    elif isinstance(value, int):
        inner = float(value)  # the engine's numbers are float64; PropertyValue refuses ints
    elif isinstance(value, Mapping):
        inner = {str(key): _value(item) for key, item in value.items()}
    elif isinstance(value, list | tuple):
        inner = [_value(item) for item in value]
    else:
        raise TypeError(f"cannot send a {type(value).__name__} to the engine")
    return PropertyValue(inner, is_secret=is_secret)
