"""How an input's value is checked, and how a message quotes a value.

Each rule (:class:`Rule`) parses one input's value, normalised, or raises ValueError saying
what is allowed, quoting the value as :func:`shown` abbreviates it. :func:`credential_paths`
finds credentials anywhere in a value (inputs and outputs are kept in state and shown in diffs,
so none may hold one). The schema (:mod:`pulumi_cortecs._schema`) gives each input its rule.

Nothing here imports Pulumi, httpx or pydantic: a Pulumi program loads this module.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pulumi_cortecs._owner import OWNER_FORMS, Owner
from pulumi_cortecs._urls import has_userinfo

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


class Rule(Protocol):
    """How an input's value is checked: ``parse`` returns it normalised or raises ValueError
    saying what is allowed; ``allowed`` says it for the documentation."""

    @property
    def allowed(self) -> str: ...

    def parse(self, value: Any) -> Any: ...


def shown(value: Any) -> str:
    """``value`` as a message quotes it: its repr, a long number abbreviated (``1e+308``,
    ``1.234e+39``) and a long text cut."""
    text = repr(value)
    if isinstance(value, bool):
        return text
    if isinstance(value, int | float):
        return text if len(text) <= _LONGEST_NUMBER else _scientific(value)
    return text if len(text) <= _LONGEST_TEXT else f"{text[: _LONGEST_TEXT - 1]}…"


def refused(allowed: str, value: Any) -> ValueError:
    """The error a rule raises for ``value``: ``must be <allowed>, got <value shown>``."""
    return ValueError(f"must be {allowed}, got {shown(value)}")


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
        name = Text(self.allowed).parse(value)
        # Refused here, not only encoded into the URL: no model has such a name, and a '?' or
        # a '#' would otherwise pass preview and fail `up`.
        if not _MODEL_NAME.fullmatch(name):
            raise ValueError(
                f"must be {self.allowed}: letters, digits, '-', '_' and '.', with one '/' "
                f"after the organisation; got {shown(value)}"
            )
        return to_model_id(name)


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
            raise refused(self.allowed, value)
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
                raise refused(self.allowed, value)
            number = int(real)
        if number < self.low or (self.high is not None and number > self.high):
            raise refused(self.allowed, number)
        return number


@dataclass(frozen=True)
class OneOf:
    values: tuple[str, ...]

    @property
    def allowed(self) -> str:
        return f"one of {', '.join(self.values)}"

    def parse(self, value: Any) -> str:
        if value not in self.values:
            raise refused(self.allowed, value)
        return str(value)


@dataclass(frozen=True)
class Flag:
    allowed: str = "true or false"

    def parse(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise refused(self.allowed, value)
        return value


@dataclass(frozen=True)
class PositiveNumber:
    allowed: str = "a finite number greater than 0"

    def parse(self, value: Any) -> float:
        number = _finite(value)
        if number is None or not number > 0:
            raise refused(self.allowed, value)
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
            raise refused(self.allowed, value)
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
