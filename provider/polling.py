"""When to ask again about an instance that is still coming up.

Initialisation runs through ``num_steps`` steps that, on one instance, take about equally long.
Every observation ``(time, step)`` then bounds the unknown step duration ``d`` and start ``s0``:
step ``j`` seen at ``t`` means ``s0 + (j - 1) * d <= t < s0 + j * d``. Eliminating ``s0`` from
two observations ``a`` and ``b`` leaves ``(j_b - j_a - 1) * d < t_b - t_a``, so the observations
pin ``d`` to an interval, and with it the window in which the next step (or ``running``) must
begin. :class:`AdaptivePollPolicy` sleeps through the part of that window where nothing can
happen and then polls across it: coarsely for intermediate steps (each one it pins narrows the
next window) and tightly for the last one, whose end is what the caller waits for. Until the
observations bound ``d``, or once they contradict equal steps, it backs off geometrically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .models import PENDING


@dataclass(frozen=True)
class Observation:
    """What one status request saw, and when (by the waiting client's clock)."""

    time: float
    status: str
    current_step: int | None = None
    num_steps: int | None = None

    @property
    def stage(self) -> tuple[str, int | None]:
        """What a change of counts as progress: the status and the step."""
        return self.status, self.current_step


class PollPolicy(Protocol):
    def next_delay(self, observations: Sequence[Observation]) -> float:
        """Seconds to sleep before the next status request; ``observations`` is never empty."""
        ...


class AdaptivePollPolicy:
    """Learns the step cadence from ``init_progress`` and polls tightly only near the finish.

    ``start_window``: when the first observation is step 1, assume the instance started at most
    this long before it (waits usually follow the start); dropped as soon as it contradicts an
    observation.
    """

    def __init__(
        self,
        *,
        initial: float = 0.5,
        maximum: float = 5.0,
        minimum: float = 0.2,
        finish_spacing: float = 0.4,
        start_window: float = 0.5,
        max_predicted_sleep: float = 15.0,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.minimum = minimum
        self.finish_spacing = finish_spacing
        self.start_window = start_window
        self.max_predicted_sleep = max_predicted_sleep

    def next_delay(self, observations: Sequence[Observation]) -> float:
        last = observations[-1]
        window = self._next_step_window(observations)
        if window is None:
            return self._backoff(observations)
        earliest, latest = window
        is_final = last.current_step == last.num_steps
        # Spacing bounds how late the change is seen: tight for the finish the caller waits
        # for, coarse for intermediate steps whose only use is narrowing the next window.
        spacing = max(self.finish_spacing, (latest - earliest) / (8 if is_final else 3))
        target = min(max(earliest, last.time) + min(spacing, self.maximum), latest)
        return min(max(target - last.time, self.minimum), self.max_predicted_sleep)

    def _backoff(self, observations: Sequence[Observation]) -> float:
        last = observations[-1]
        unchanged = 0
        for previous in reversed(observations[:-1]):
            if previous.stage != last.stage:
                break
            unchanged += 1
        return min(self.maximum, self.initial * 2.0**unchanged)

    def _next_step_window(self, observations: Sequence[Observation]) -> tuple[float, float] | None:
        """When the current step must end, if equal steps explain what was seen so far."""
        last = observations[-1]
        if last.status != PENDING or not last.current_step or not last.num_steps:
            return None
        points = [
            (o.time, o.current_step)
            for o in observations
            if o.status == PENDING and o.current_step and o.num_steps == last.num_steps
        ]
        first = observations[0]
        if first.status == PENDING and first.current_step == 1:
            # "Not started yet" just before the first observation, as a pseudo observation.
            with_start = [(first.time - self.start_window, 0), *points]
            window = _window(with_start, last.time, last.current_step)
            if window is not None:
                return window
        return _window(points, last.time, last.current_step)


def _window(
    points: Sequence[tuple[float, int]], now: float, step: int
) -> tuple[float, float] | None:
    low, high = _step_duration_bounds(points)
    if math.isinf(high):
        return None
    earliest = max(t + (step - j) * low for t, j in points)
    latest = min(t + (step - j + 1) * high for t, j in points)
    if low >= high or latest <= now or earliest > latest:
        return None  # the steps are not equally long after all
    return earliest, latest


def _step_duration_bounds(points: Sequence[tuple[float, int]]) -> tuple[float, float]:
    low, high = 0.0, math.inf
    for t_a, j_a in points:
        for t_b, j_b in points:
            gap = j_b - j_a - 1  # (j_b - j_a - 1) * d < t_b - t_a
            if gap > 0:
                high = min(high, (t_b - t_a) / gap)
            elif gap < 0:
                low = max(low, (t_b - t_a) / gap)
    return low, high
