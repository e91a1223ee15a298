"""The API's JSON objects, rendered from the fake's domain objects.

One place decides what each object looks like on the wire, so a server generation's shape is
chosen here and nowhere else: ``newer`` servers report progress per worker (and leave
``num_workers`` out of the args), ``older`` ones report it on ``instance_status``.
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


def instance(instance: FakeInstance, now: float, origin: str, shape: str) -> dict[str, Any]:
    """The API's ``Instance`` object in the requested server generation's shape."""
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
    if shape == "older":
        instance_status["init_progress"] = progress
    else:
        del payload["instance_args"]["num_workers"]
        payload["worker_statuses"] = [
            {"init_progress": progress} for _ in range(instance.num_workers)
        ]
    return payload


def model_preview(model: dict[str, Any]) -> dict[str, Any]:
    """A ``/models/`` entry: the hardware it fits, as a list of ids."""
    preview = {k: v for k, v in model.items() if k != "recommended_config"}
    preview["hardware_configs"] = list(model["hardware_configs"])
    return preview


def model_detail(model: dict[str, Any]) -> dict[str, Any]:
    """A ``/models/{id}`` model: each hardware's maximum context, and the recommended one."""
    detail = dict(model)
    detail["hardware_configs"] = {
        hw: {"params": {"max_context_length": n}} for hw, n in model["hardware_configs"].items()
    }
    return detail
