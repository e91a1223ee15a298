"""A fake instance: its lifecycle, worked out from the clock. No JSON here (see ``_shapes``).

Nothing runs in the background: an instance records when it was (re)launched and whether it
was stopped, and its status is worked out whenever it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from pulumi_cortecs.testing.fake._constants import PENDING, RUNNING, STOPPED
from pulumi_cortecs.testing.fake.catalog import INIT_STEP_DESCRIPTIONS, RUNNING_DESCRIPTION


class Progress(NamedTuple):
    """Where initialisation is: step ``current_step`` of ``num_steps``, doing ``description``."""

    current_step: int
    num_steps: int
    description: str


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

    @property
    def num_workers(self) -> int:
        return int(self.args["num_workers"])

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

    def progress(self, now: float) -> Progress | None:
        """Initialisation progress; ``None`` when stopped."""
        step = self.step(now)
        if step is None:
            return None
        if self.status(now) == RUNNING:
            description = RUNNING_DESCRIPTION
        else:
            description = INIT_STEP_DESCRIPTIONS[min(step, len(INIT_STEP_DESCRIPTIONS)) - 1]
        return Progress(step, self.num_steps, description)

    def stop(self, now: float) -> None:
        if self.stopped_at is None:
            self.stopped_at = now

    def relaunch(self, now: float, step_seconds: float, num_steps: int) -> None:
        """Back to pending from step 1 (a restart)."""
        self.launched_at, self.step_seconds, self.num_steps = now, step_seconds, num_steps
        self.stopped_at = None

    def summary(self, now: float) -> dict[str, Any]:
        """The JSON-able view used by ``FakeBackend.snapshot``."""
        return {
            "instance_id": self.instance_id,
            "status": self.status(now),
            "step": self.step(now),
            "args": dict(self.args),
        }
