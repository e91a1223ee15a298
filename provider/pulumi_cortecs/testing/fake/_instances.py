"""A fake instance: its lifecycle, worked out from the clock. No JSON here (see ``_shapes``).

Nothing runs in the background: an instance records when it was (re)launched, on which
:class:`Schedule`, and whether it was stopped, and its status is worked out whenever it is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from pulumi_cortecs.testing.fake._constants import PENDING, RUNNING, STOPPED
from pulumi_cortecs.testing.fake.catalog import INIT_STEP_DESCRIPTIONS, RUNNING_DESCRIPTION

RunningAt = Literal["end", "start"]
RUNNING_AT: tuple[str, ...] = ("end", "start")


class Progress(NamedTuple):
    """Where initialisation is: step ``current_step`` of ``num_steps``, doing ``description``."""

    current_step: int
    num_steps: int
    description: str


@dataclass(frozen=True)
class Schedule:
    """How an instance initialises: one duration per step, and when it starts running.

    ``running_at`` ``end``: running once the last step ends (the step count reaches n of n
    while still pending). ``start``: running as soon as the last step begins, so n of n is only
    ever reported by a running instance (what cortecs-py's polling assumes).
    """

    durations: tuple[float, ...]
    running_at: RunningAt = "end"

    @classmethod
    def of(
        cls, step_seconds: float | tuple[float, ...], num_steps: int, running_at: RunningAt
    ) -> Schedule:
        if isinstance(step_seconds, tuple):
            return cls(step_seconds, running_at)
        return cls((float(step_seconds),) * num_steps, running_at)

    @property
    def num_steps(self) -> int:
        return len(self.durations)

    @property
    def _uniform(self) -> float | None:
        first = self.durations[0]
        return first if all(d == first for d in self.durations) else None

    def _ends_after(self, steps: int) -> float:
        """Seconds from launch to the end of the first ``steps`` steps."""
        uniform = self._uniform
        # Equal steps keep the plain product, so their timing is exactly that of n x s.
        return uniform * steps if uniform is not None else math.fsum(self.durations[:steps])

    @property
    def running_after(self) -> float:
        """Seconds from launch until the instance runs."""
        return self._ends_after(self.num_steps - (1 if self.running_at == "start" else 0))

    def step_at(self, elapsed: float) -> int:
        """The step being run ``elapsed`` seconds after launch, while pending."""
        uniform = self._uniform
        if uniform is not None:
            if uniform <= 0:
                return self.num_steps
            return min(self.num_steps, int(elapsed // uniform) + 1)
        for step in range(1, self.num_steps + 1):
            if elapsed < self._ends_after(step):
                return step
        return self.num_steps


@dataclass
class FakeInstance:
    """One instance. ``args`` are its start arguments, defaults filled in; ``extra`` are fields
    the API adds to it beyond the contract's (set only for instances added out of band).

    The schedule is fixed when the instance is launched, so reconfiguring the backend never
    makes a pending instance jump.
    """

    instance_id: str
    args: dict[str, Any]
    launched_at: float
    schedule: Schedule
    stopped_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fresh_requests: int = 0
    """Requests its endpoint has had since it last became running (the ingress counts them)."""

    @property
    def running_since(self) -> float:
        """When initialisation ends (or ended)."""
        return self.launched_at + self.schedule.running_after

    @property
    def num_steps(self) -> int:
        return self.schedule.num_steps

    @property
    def num_workers(self) -> int:
        """How many workers to report: the args' number, at least one."""
        workers = self.args.get("num_workers")
        return workers if isinstance(workers, int) and workers > 0 else 1

    def status(self, now: float) -> str:
        if self.stopped_at is not None:
            return STOPPED
        return RUNNING if now >= self.running_since else PENDING

    def step(self, now: float) -> int | None:
        """The init step being run (``num_steps`` once running), ``None`` when stopped."""
        status = self.status(now)
        if status == STOPPED:
            return None
        if status == RUNNING:
            return self.num_steps
        return self.schedule.step_at(now - self.launched_at)

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

    def relaunch(self, now: float, schedule: Schedule) -> None:
        """Back to pending from step 1 (a restart)."""
        self.launched_at, self.schedule = now, schedule
        self.stopped_at = None
        self.fresh_requests = 0

    def summary(self, now: float) -> dict[str, Any]:
        """The JSON-able view used by ``FakeBackend.snapshot``."""
        return {
            "instance_id": self.instance_id,
            "status": self.status(now),
            "step": self.step(now),
            "args": dict(self.args),
        }
