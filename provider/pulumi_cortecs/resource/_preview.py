"""What ``pulumi preview`` asks of a ManagedInstance: check its inputs, and diff them against
its state. Nothing here starts, stops or changes an instance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_cortecs._command import command
from pulumi_cortecs._exceptions import ApiError, UnknownModelError
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._pricing import DEFAULT_INTERVAL, cost_of, cost_per_hour
from pulumi_cortecs._rules import duration_seconds, shown
from pulumi_cortecs._schema import (
    API_KEY,
    CLIENT_SECRET,
    INPUTS,
    NAMESPACE,
    Change,
    ConfigKey,
    Naming,
)
from pulumi_cortecs.api._models import STOPPED, HardwareType, ModelPreview
from pulumi_cortecs.resource import _auto_stop
from pulumi_cortecs.resource._context import ProviderContext
from pulumi_cortecs.resource._inputs import Failure, is_unknown, parse_inputs


@dataclass(frozen=True)
class Checked:
    """Inputs with defaults applied (and the price, known at preview), what is wrong, and what
    to tell the user about them (the price)."""

    inputs: dict[str, Any]
    failures: list[Failure]
    messages: list[str]


@dataclass(frozen=True)
class Planned:
    """Which changed inputs replace the instance and which update it in place, and what to tell
    the user about it (a restart of a reaped instance)."""

    replaces: list[str]
    updates: list[str]
    messages: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.replaces or self.updates)


def check(context: ProviderContext, news: Mapping[str, Any]) -> Checked:
    """Failures name the resource and the inputs as ``context.naming`` does."""
    inputs, failures = parse_inputs(news, naming=context.naming)
    failed = {f.property for f in failures}
    access = _access_failure(context)
    if access is not None:
        failures.insert(0, access)
    messages: list[str] = []
    # An unreachable API is one failure, not one more per catalog question.
    if not context.api_unreachable:
        failures += _check_against_catalog(context, inputs, failed, messages, news.get("model_id"))
    messages += _auto_stop_messages(context, inputs)
    if inputs.get("readiness_probe") is True:
        failures += _check_api_key(context.api_key, context.naming)
    return Checked(inputs, failures, messages)


def _access_failure(context: ProviderContext) -> Failure | None:
    # The API would refuse a padded client secret: say why, without asking it.
    padded = _padded(CLIENT_SECRET, context.client.client_secret.reveal(), "")
    return padded or context.access_failure()


def _check_api_key(api_key: str | None, naming: Naming) -> list[Failure]:
    if not api_key:
        return [
            Failure(
                "readiness_probe",
                "needs the instances' API key: set it with `pulumi config set --secret "
                f"cortecs:apiKey ...` or CORTECS_API_KEY, or set {naming('readiness_probe')} to "
                "false",
            )
        ]
    padded = _padded(API_KEY, api_key, "readiness_probe")
    return [padded] if padded else []


def _padded(key: ConfigKey, value: str | None, prop: str) -> Failure | None:
    """The failure of a credential with whitespace around it, if it has (said by the key)."""
    problem = key.padding(value, f"{NAMESPACE}:{key.key} (or {key.environment})")
    return Failure(prop, problem) if problem else None


def diff(olds: Mapping[str, Any], news: Mapping[str, Any], now: float) -> Planned:
    """``olds`` are the previous OUTPUTS: the API's resolved values, not what the user wrote.
    ``now``: the wall clock, for a lease that has run out."""
    changed = [
        p
        for p in INPUTS
        if _differs(olds.get(p.name), news.get(p.name))
        and not (p.name == "owner" and _same_owner(olds.get(p.name), news.get(p.name)))
    ]
    replaces = [p.name for p in changed if p.change is Change.REPLACE]
    updates = [p.name for p in changed if p.change is Change.UPDATE]
    # Stopped or started outside Pulumi (seen by a refresh): `running` brings it back.
    wants_running = news.get("running", True)
    is_stopped = olds.get("status") == STOPPED
    if "running" not in updates and wants_running in (True, False) and wants_running == is_stopped:
        updates.append("running")
    # Reaped, or about to be, since the last up (seen without a refresh): bring it back.
    messages = []
    if wants_running is True and not is_stopped and _auto_stop.ran_out(olds, now):
        messages.append(
            f"{olds.get('instance_id')}: its lease ran out at {olds.get('stops_at')}, so "
            f"{command('reap')} stops it (or has): this update restarts it if it is "
            "stopped and renews the lease"
        )
        if "running" not in updates:
            updates.append("running")
    return Planned(replaces, updates, messages)


def _check_against_catalog(
    context: ProviderContext,
    inputs: dict[str, Any],
    failed: set[str],
    messages: list[str],
    typed: Any,
) -> list[Failure]:
    """Validate what only the catalog knows, and add the price (known at preview) to the inputs
    and the ``messages``. ``typed`` is the model as the program names it, so that a
    did-you-mean names models alike."""
    model_id = inputs.get("model_id")
    if "model_id" in failed or model_id is None or is_unknown(model_id):
        return []
    try:
        model = context.catalog.model(model_id, typed if isinstance(typed, str) else None)
        hardware_types = context.catalog.hardware_types()
    except UnknownModelError as error:
        return [Failure("model_id", f"{error}; {command('models')} lists them")]
    except ApiError as error:
        return [Failure("model_id", f"could not be checked against the catalog: {error}")]

    hardware_id = inputs.get("hardware_type_id")
    if is_unknown(hardware_id):
        return []
    if hardware_id is not None and hardware_id not in model.hardware_configs:
        return [
            Failure(
                "hardware_type_id",
                f"{model.hf_name} cannot run on {hardware_id!r}; it runs on "
                f"{', '.join(model.hardware_configs)}",
            )
        ]
    hardware_id = hardware_id or model.recommended_config
    failures = _check_context_length(inputs.get("context_length"), model, hardware_id)
    hardware = hardware_types.get(hardware_id or "")
    if hardware is None:
        return failures + _unpriced(inputs, model, hardware_id, context.naming)
    return failures + _price(inputs, model, hardware, messages)


def _price(
    inputs: dict[str, Any], model: ModelPreview, hardware: HardwareType, messages: list[str]
) -> list[Failure]:
    price = hardware.price_info
    inputs["price_per_hour"] = price.price_per_hour
    inputs["currency"] = price.currency
    workers = inputs.get("num_workers") or 1
    if is_unknown(workers):
        return []
    estimate = cost_per_hour(price.price_per_hour, workers)
    inputs["estimated_cost_per_hour"] = estimate
    messages.append(
        f"{model.hf_name} on {hardware.hardware_type_id} x {workers}: "
        f"{estimate:.2f} {price.currency}/hour"
    )
    limit = inputs.get("max_price_per_hour")
    if isinstance(limit, float) and estimate > limit:
        return [
            Failure(
                "max_price_per_hour",
                f"{model.hf_name} on {hardware.hardware_type_id} x {workers} costs "
                f"{estimate:.2f} {price.currency}/hour, above the limit of {limit:.2f}",
            )
        ]
    return []


def _auto_stop_messages(context: ProviderContext, inputs: dict[str, Any]) -> list[str]:
    """When ``auto_stop_after`` stops the instance, and the most it costs until then."""
    after = inputs.get("auto_stop_after")
    if not isinstance(after, str) or is_unknown(after):
        return []
    seconds = duration_seconds(after)
    stops = _auto_stop.iso(context.leases.now() + seconds)
    line = f"auto_stop_after {after}: stops {after} after the `up` that starts it ({stops} if now)"
    price, workers = inputs.get("price_per_hour"), inputs.get("num_workers") or 1
    interval = inputs.get("billing_interval") or DEFAULT_INTERVAL
    if isinstance(price, float) and not is_unknown(workers) and not is_unknown(interval):
        most = cost_of(seconds, price, workers, interval)
        line += f", at most {most:.2f} {inputs.get('currency')} until then (billed {interval})"
    return [line]


def _unpriced(
    inputs: dict[str, Any], model: ModelPreview, hardware_id: str | None, naming: Naming
) -> list[Failure]:
    """A limit on the price cannot be kept when the price is unknown: fail rather than pass."""
    limit = inputs.get("max_price_per_hour")
    if not isinstance(limit, float):  # no limit, or one known only at apply
        return []
    if hardware_id is None:
        unknown = (
            f"the hardware is unknown: {naming('hardware_type_id')} is unset and the catalog "
            f"recommends none for {model.hf_name}"
        )
    else:
        unknown = f"the price of {hardware_id} is unknown: the catalog's hardware types lack it"
    return [
        Failure(
            "max_price_per_hour",
            f"cannot be checked, {unknown}. Set {naming('hardware_type_id')} to hardware the "
            f"catalog prices ({command('hardware')}), or remove the limit of "
            f"{shown(limit)}",
        )
    ]


def _check_context_length(
    context_length: Any, model: ModelPreview, hardware_id: str | None
) -> list[Failure]:
    maximum = model.max_context_lengths.get(hardware_id or "")
    if isinstance(context_length, int) and maximum is not None and context_length > maximum:
        return [
            Failure(
                "context_length",
                f"{shown(context_length)} is above the maximum of {maximum} for {model.hf_name} on "
                f"{hardware_id}; use at most {maximum}"
                + _larger_hardware_hint(model, context_length),
            )
        ]
    return []


def _larger_hardware_hint(model: ModelPreview, context_length: int) -> str:
    larger = [hw for hw, maximum in model.max_context_lengths.items() if maximum >= context_length]
    return f", or hardware that allows it: {', '.join(larger)}" if larger else ""


def _same_owner(old: Any, new: Any) -> bool:
    """Whether ``old`` names the resource ``new`` does, in the ``project/stack/name`` form of
    the releases before the owner became the URN: a stack's first preview after the upgrade
    has nothing to change."""
    try:
        recorded, current = Owner.parse(old), Owner.parse(new)
    except ValueError:
        return False
    return recorded.urn is None and current.urn is not None and current.may_claim(recorded)


def _differs(old: Any, new: Any) -> bool:
    """Whether a declared input differs from the previous output it produced.

    An input left unset (None) never differs: the API chose the value and still holds it.
    """
    if new is None:
        return False
    if is_unknown(new):
        return True
    if isinstance(new, float) and isinstance(old, int | float) and not isinstance(old, bool):
        return float(old) != new
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        return dict(old) != dict(new)
    return bool(old != new)
