"""The API's JSON objects, rendered from the fake's domain objects, in the era asked for.

One place decides what each object looks like on the wire, so an era's shape is chosen here
and nowhere else. Two eras (``api_era``):

``today`` (the default): what the official client, cortecs-py 0.1.2, reads. Model list entries
    carry every key (nulls included), ``model_name``, a whole-number ``size`` and their hardware
    ids under ``hardware_info``; the detail gives each hardware's maximum context as
    ``params["--max-model-len"]``; an instance always has ``base_url``, all five
    ``instance_args`` (``num_workers`` a number) and ``worker_statuses`` (one per worker, whose
    ``init_progress`` stays at step n of n while running and is null once stopped).
``seed``: the contract's main text. Sizes as they are (3.8), hardware ids at the top level,
    ``params["max_context_length"]``, and one of two instance shapes (``response_shape``):
    ``newer`` servers report progress per worker and leave ``num_workers`` out, ``older`` ones
    report it on ``instance_status`` and send no ``worker_statuses``.

In today's era ``response_shape`` = ``older`` also puts ``init_progress`` on
``instance_status``, beside the workers', as the contract's example instance does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pulumi_cortecs.testing.fake._constants import RUNNING
from pulumi_cortecs.testing.fake._instances import FakeInstance, Progress


def iso_utc(epoch_seconds: float) -> str:
    """``2024-08-07T08:53:13Z``, the API's timestamp format."""
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _progress(progress: Progress | None) -> dict[str, Any] | None:
    return None if progress is None else progress._asdict()


def base_url(instance: FakeInstance, now: float, origin: str) -> str | None:
    """Where the instance serves, on the origin the caller used; ``None`` unless running."""
    if instance.status(now) != RUNNING:
        return None
    return f"{origin}/serve/{instance.instance_id}/v1"


def instance(
    instance: FakeInstance, now: float, origin: str, era: str, shape: str
) -> dict[str, Any]:
    """The API's ``Instance`` object in the requested era and server generation's shape."""
    status = instance.status(now)
    progress = _progress(instance.progress(now))
    instance_status: dict[str, Any] = {
        "status": status,
        "started_at": iso_utc(instance.running_since) if status == RUNNING else None,
        "stopped_at": iso_utc(instance.stopped_at) if instance.stopped_at is not None else None,
    }
    payload: dict[str, Any] = {
        "instance_id": instance.instance_id,
        "base_url": base_url(instance, now, origin),
        "instance_args": dict(instance.args),
        "instance_status": instance_status,
    }
    workers = [{"init_progress": progress} for _ in range(instance.num_workers)]
    if shape == "older":
        instance_status["init_progress"] = progress
    if era == "today":
        payload["worker_statuses"] = workers
    elif shape == "newer":
        payload["instance_args"].pop("num_workers", None)
        payload["worker_statuses"] = workers
    # Fields of an instance added out of band that the contract does not know.
    payload.update(instance.extra)
    return payload


def _today_preview(model: dict[str, Any]) -> dict[str, Any]:
    # Every key present (null when unknown): cortecs-py requires them all.
    return {
        "model_id": model["model_id"],
        "model_name": model["model_id"],
        "hf_name": model["hf_name"],
        "screen_name": model.get("screen_name"),
        "description": model.get("description"),
        "creator": model.get("creator"),
        "size": None if model.get("size") is None else round(model["size"]),
        "instant_provisioned": model.get("instant_provisioned", False),
        "hardware_info": {
            "hardware_configs": list(model["hardware_configs"]),
            "recommended_config": model["recommended_config"],
        },
    }


def model_preview(model: dict[str, Any], era: str) -> dict[str, Any]:
    """A ``/models/`` entry: the hardware it fits, as a list of ids."""
    if era == "today":
        return _today_preview(model)
    preview = {k: v for k, v in model.items() if k != "recommended_config"}
    preview["hardware_configs"] = list(model["hardware_configs"])
    return preview


def model_detail(model: dict[str, Any], era: str) -> dict[str, Any]:
    """A ``/models/{id}`` model: each hardware's maximum context, and the recommended one."""
    key = "--max-model-len" if era == "today" else "max_context_length"
    detail = _today_preview(model) if era == "today" else dict(model)
    detail["recommended_config"] = model["recommended_config"]
    detail["hardware_configs"] = {
        hw: {"params": {key: n}} for hw, n in model["hardware_configs"].items()
    }
    return detail
