"""A fake instance: its lifecycle, computed from the clock, and its API representation.

Nothing runs in the background: an instance records when it was (re)launched and whether it
was stopped, and its status is worked out whenever it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from pulumi_cortecs.api._models import PENDING, RUNNING, STOPPED
from pulumi_cortecs.testing.fake.catalog import INIT_STEP_DESCRIPTIONS, RUNNING_DESCRIPTION

ResponseShape = Literal["newer", "older"]


def iso_utc(epoch_seconds: float) -> str:
    """``2024-08-07T08:53:13Z``, the API's timestamp format."""
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeInstance:
    """One instance. ``args`` are the resolved start arguments (defaults filled in).

    The init schedule (``step_seconds`` x ``num_steps``) is fixed when the instance is
    launched, so reconfiguring the backend never makes a pending instance jump.
    """

    instance_id: str
    args: dict[str, Any]
    launched_at: float
    step_seconds: float
    num_steps: int
    stopped_at: float | None = None

    @property
    def running_since(self) -> float:
        """When initialisation ends (or ended)."""
        return self.launched_at + self.step_seconds * self.num_steps

    def status(self, now: float) -> str:
        if self.stopped_at is not None:
            return STOPPED
        return RUNNING if now >= self.running_since else PENDING

    def step(self, now: float) -> int | None:
        """The init step being run (``num_steps`` once running), ``None`` when stopped."""
        status = self.status(now)
        if status == STOPPED:
            return None
        if status == RUNNING or self.step_seconds <= 0:
            return self.num_steps
        return min(self.num_steps, int((now - self.launched_at) // self.step_seconds) + 1)

    def stop(self, now: float) -> None:
        if self.stopped_at is None:
            self.stopped_at = now

    def relaunch(self, now: float, step_seconds: float, num_steps: int) -> None:
        """Back to pending from step 1 (a restart)."""
        self.launched_at, self.step_seconds, self.num_steps = now, step_seconds, num_steps
        self.stopped_at = None

    def init_progress(self, now: float) -> dict[str, Any] | None:
        step = self.step(now)
        if step is None:
            return None
        if self.status(now) == RUNNING:
            description = RUNNING_DESCRIPTION
        else:
            description = INIT_STEP_DESCRIPTIONS[min(step, len(INIT_STEP_DESCRIPTIONS)) - 1]
        return {"current_step": step, "num_steps": self.num_steps, "description": description}

    def base_url(self, now: float, origin: str) -> str | None:
        """Where the instance serves, on the origin the caller used; ``None`` unless running."""
        if self.status(now) != RUNNING:
            return None
        return f"{origin}/serve/{self.instance_id}/v1"

    def to_api(self, now: float, origin: str, shape: ResponseShape) -> dict[str, Any]:
        """The API's ``Instance`` object in the requested server generation's shape.

        ``newer`` reports progress per worker and leaves ``num_workers`` out of the args;
        ``older`` reports progress on ``instance_status`` and has no ``worker_statuses``.
        """
        status = self.status(now)
        progress = self.init_progress(now)
        instance_status: dict[str, Any] = {
            "status": status,
            "started_at": iso_utc(self.running_since) if status == RUNNING else None,
            "stopped_at": iso_utc(self.stopped_at) if self.stopped_at is not None else None,
        }
        payload: dict[str, Any] = {
            "instance_id": self.instance_id,
            "base_url": self.base_url(now, origin),
            "instance_args": dict(self.args),
            "instance_status": instance_status,
        }
        if shape == "older":
            instance_status["init_progress"] = progress
        else:
            del payload["instance_args"]["num_workers"]
            workers = self.args["num_workers"]
            payload["worker_statuses"] = [{"init_progress": progress} for _ in range(workers)]
        return payload

    def summary(self, now: float) -> dict[str, Any]:
        """The JSON-able view used by ``FakeBackend.snapshot``."""
        return {
            "instance_id": self.instance_id,
            "status": self.status(now),
            "step": self.step(now),
            "args": dict(self.args),
        }
