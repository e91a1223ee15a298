"""Validation and defaults of ``POST /instances/start``, with the real API's rules.

Every refusal is a 400 whose message names the field and what would have been accepted, so a
client's error message can tell the user how to fix the call.
"""

from __future__ import annotations

from typing import Any

from pulumi_cortecs.api._models import BILLING_INTERVALS, MAX_WORKERS, MIN_WORKERS
from pulumi_cortecs.testing.fake.catalog import MODELS
from pulumi_cortecs.testing.fake.wire import HttpError

# The API never picks a context length above this by default, even on hardware allowing more.
DEFAULT_MAX_CONTEXT_LENGTH = 32000
MODELS_BY_ID: dict[str, dict[str, Any]] = {model["model_id"]: model for model in MODELS}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_start_args(body: dict[str, Any]) -> dict[str, Any]:
    """The instance arguments for a start request, defaults filled in; 400 when invalid.

    A JSON ``null`` counts as "not given", and keys the API does not know are ignored.
    """
    model_id = body.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        raise HttpError(400, "model_id is required and must be a string")
    model = MODELS_BY_ID.get(model_id)
    if model is None:
        known = ", ".join(MODELS_BY_ID)
        raise HttpError(400, f"model_id {model_id!r} is not a known model; known models: {known}")

    max_lengths: dict[str, int] = model["hardware_configs"]
    hardware = body.get("hardware_type_id")
    if hardware is None:
        hardware = model["recommended_config"]
    elif not isinstance(hardware, str) or hardware not in max_lengths:
        allowed = ", ".join(max_lengths)
        raise HttpError(
            400,
            f"hardware_type_id {hardware!r} cannot run model {model_id}; allowed: {allowed}",
        )
    max_length = max_lengths[hardware]

    context_length = body.get("context_length")
    if context_length is None:
        context_length = min(DEFAULT_MAX_CONTEXT_LENGTH, max_length)
    elif not _is_int(context_length) or context_length <= 0:
        raise HttpError(400, "context_length must be a positive integer")
    elif context_length > max_length:
        raise HttpError(
            400,
            f"context_length {context_length} exceeds the maximum of {max_length} "
            f"for model {model_id} on {hardware}",
        )

    billing_interval = body.get("billing_interval")
    if billing_interval is None:
        billing_interval = BILLING_INTERVALS[0]
    elif billing_interval not in BILLING_INTERVALS:
        raise HttpError(400, f"billing_interval must be one of {', '.join(BILLING_INTERVALS)}")

    num_workers = body.get("num_workers")
    if num_workers is None:
        num_workers = MIN_WORKERS
    elif not _is_int(num_workers) or not MIN_WORKERS <= num_workers <= MAX_WORKERS:
        raise HttpError(400, f"num_workers must be an integer from {MIN_WORKERS} to {MAX_WORKERS}")

    return {
        "model_id": model_id,
        "hardware_type_id": hardware,
        "context_length": context_length,
        "billing_interval": billing_interval,
        "num_workers": num_workers,
    }
