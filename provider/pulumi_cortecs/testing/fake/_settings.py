"""The fake's settings, declared once (as moto keeps its configuration in one place).

Each :class:`Setting` is a plain attribute of :class:`~._backend.FakeBackend`: its default is
what a new backend starts with and what the pytest plugin's ``cortecs_api`` resets to; its check
is what ``configure`` (and the admin endpoint ``/config``) enforces; its flag, if it has one,
is how ``python -m pulumi_cortecs.testing.fake`` sets it. Adding a setting is a line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pulumi_cortecs.testing.fake._constants import (
    DEMO_API_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from pulumi_cortecs.testing.fake._instances import RUNNING_AT

ApiEra = Literal["today", "seed"]
API_ERAS: tuple[str, ...] = ("today", "seed")
ResponseShape = Literal["newer", "older"]
RESPONSE_SHAPES: tuple[str, ...] = ("newer", "older")


def _number(minimum: float, *, strict: bool = False) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return value > minimum if strict else value >= minimum

    return check


def _step_seconds(value: Any) -> bool:
    """One length for every step, or a non-empty list of one length per step."""
    if isinstance(value, list | tuple):
        return bool(value) and all(_number(0)(v) for v in value)
    return _number(0)(value)


def _statuses(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(v, int) and not isinstance(v, bool) and 400 <= v <= 599 for v in value
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _numbers(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    """A flag's comma-separated list (``404,502``)."""

    def parse(text: str) -> list[Any]:
        return [kind(part) for part in text.split(",") if part.strip()]

    return parse


def _step_lengths(text: str) -> float | list[float]:
    """``--step-seconds``: one length (``1.0``) or one per step (``0.5,2,1``)."""
    lengths: list[float] = _numbers(float)(text)
    return lengths[0] if len(lengths) == 1 else lengths


@dataclass(frozen=True)
class Flag:
    """How ``python -m pulumi_cortecs.testing.fake`` sets a setting."""

    name: str
    parse: Callable[[str], Any] | None = None  # None: the default's type (bool: a switch)
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    valid: Callable[[Any], bool]
    help: str
    flag: Flag | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "step_seconds",
        1.0,
        _step_seconds,
        "length of an init step, or one length per step (which also sets num_steps)",
        Flag("--step-seconds", _step_lengths),
    ),
    Setting("num_steps", 5, _whole, "init steps before running", Flag("--num-steps", int)),
    Setting(
        "running_at",
        "end",
        lambda v: v in RUNNING_AT,
        "whether an instance runs once its last init step ends or begins",
        Flag("--running-at", choices=RUNNING_AT),
    ),
    Setting(
        "instant_models",
        False,
        lambda v: isinstance(v, bool),
        "models the catalog marks instant_provisioned run as soon as they are started",
        Flag("--instant-models"),
    ),
    Setting(
        "ingress_errors",
        (),
        _statuses,
        "statuses (e.g. 404,502) the ingress answers to the first requests to an instance's "
        "endpoint each time it becomes running, before the instance itself sees any",
        Flag("--ingress-errors", _numbers(int)),
    ),
    Setting(
        "serving_delay",
        0.0,
        _number(0),
        "seconds a running instance answers 503 before serving",
        Flag("--serving-delay", float),
    ),
    Setting(
        "token_ttl", 3600.0, _number(0, strict=True), "token lifetime (s)", Flag("--token-ttl")
    ),
    Setting(
        "api_era",
        "today",
        lambda v: v in API_ERAS,
        "the API era to answer as: today's (what cortecs-py 0.1.2 reads) or the seed's",
        Flag("--era", choices=API_ERAS),
    ),
    Setting(
        "response_shape",
        "newer",
        lambda v: v in RESPONSE_SHAPES,
        "where instances report init progress: per worker (newer) or on instance_status "
        "(older; in the seed era without worker_statuses)",
        Flag("--shape", choices=RESPONSE_SHAPES),
    ),
    Setting("api_key", DEMO_API_KEY, _text, "the instances' API key"),
    Setting("client_id", DEMO_CLIENT_ID, _text, "the OAuth2 client id the fake accepts"),
    Setting("client_secret", DEMO_CLIENT_SECRET, _text, "the client secret it accepts"),
)
BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def defaults() -> dict[str, Any]:
    """Every setting at its default: a new backend's, and what a reset fake goes back to."""
    return {setting.name: setting.default for setting in SETTINGS}
