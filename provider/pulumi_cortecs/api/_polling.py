"""When to ask again about an instance that is still coming up.

Initialisation runs through ``num_steps`` steps that, on one instance, take about equally long.
Every observation ``(time, step)`` then bounds the unknown step duration ``d`` and start ``s0``:
step ``j`` seen at ``t`` means ``s0 + (j - 1) * d <= t < s0 + j * d``. Eliminating ``s0`` from
two observations ``a`` and ``b`` leaves ``(j_b - j_a - 1) * d < t_b - t_a``, so the observations
pin ``d`` to an interval, and with it the windows in which the next step and the finish (the
end of the last step) must begin. A client that started the instance itself also knows that
``s0`` is no earlier than its start request (a :data:`LAUNCHED` record), which bounds ``d`` from
above as soon as any later step is seen.

:class:`AdaptivePollPolicy` sleeps through the part of a window where nothing can happen and
then polls across it: tightly for the finish, which is what the caller waits for, and coarsely
for an intermediate step, which is only worth a request while the finish window is still wide
(each step it pins narrows the finish window). Until the observations bound ``d``, or once they
contradict equal steps, it backs off geometrically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pulumi_cortecs.api._models import PENDING

LAUNCHED = "launched"
"""The status of a client's record of its own start or restart request: its ``time`` is the
client's clock just before the request was sent, so no step can have begun earlier."""


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
        """Seconds to sleep before the next status request.

        ``observations`` is never empty and ends with the latest status request. When the
        waiting client started or restarted the instance itself, it begins with what that
        taught it: a :data:`LAUNCHED` record, then the instance the request answered with.
        """
        ...


class AdaptivePollPolicy:
    """Learns the step cadence from ``init_progress`` and polls tightly only near the finish.

    ``finish_polls``: the finish window is crossed in at most this many polls, at least
    ``finish_spacing`` apart; intermediate steps are polled for only while it is wider than
    that many spacings. ``intermediate_polls``: the polls that cross an intermediate step's
    window.
    ``start_window``: without a :data:`LAUNCHED` record, when the first observation is step 1,
    assume the instance started at most this long before it (waits usually follow the start);
    dropped as soon as it contradicts an observation.
    """

    def __init__(
        self,
        *,
        initial: float = 0.5,
        maximum: float = 5.0,
        minimum: float = 0.2,
        finish_spacing: float = 0.5,
        finish_polls: int = 8,
        intermediate_polls: int = 2,
        start_window: float = 0.5,
        max_predicted_sleep: float = 15.0,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.minimum = minimum
        self.finish_spacing = finish_spacing
        self.finish_polls = finish_polls
        self.intermediate_polls = intermediate_polls
        self.start_window = start_window
        self.max_predicted_sleep = max_predicted_sleep

    def next_delay(self, observations: Sequence[Observation]) -> float:
        last = observations[-1]
        windows = self._windows(observations)
        if windows is None:
            return self._backoff(observations)
        next_step, finish = windows
        finish_width = finish[1] - finish[0]
        # Pinning an intermediate step costs a request; it pays only while the finish window is
        # too wide to poll at the finish spacing.
        if last.current_step == last.num_steps or (
            finish_width <= self.finish_polls * self.finish_spacing
        ):
            (earliest, latest), polls = finish, self.finish_polls
        else:
            (earliest, latest), polls = next_step, self.intermediate_polls
        spacing = max(self.finish_spacing, (latest - earliest) / polls)
        target = min(max(earliest, last.time) + min(spacing, self.maximum), latest)
        return min(max(target - last.time, self.minimum), self.max_predicted_sleep)

    def _backoff(self, observations: Sequence[Observation]) -> float:
        # As long again as the stage has been seen to last, so geometric while the polls follow
        # it; counted in time, not polls, so that a stage the start's answer already showed
        # does not double the first sleep of a wait that begins right after it.
        last = observations[-1]
        stage_seen_since = last.time
        for previous in reversed(observations[:-1]):
            if previous.stage != last.stage:
                break
            stage_seen_since = previous.time
        return min(self.maximum, self.initial + last.time - stage_seen_since)

    def _windows(
        self, observations: Sequence[Observation]
    ) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """When the current step and the last one must end, if equal steps explain what was
        seen so far."""
        last = observations[-1]
        if last.status != PENDING or not last.current_step or not last.num_steps:
            return None
        points = [
            (o.time, o.current_step)
            for o in observations
            if o.status == PENDING and o.current_step and o.num_steps == last.num_steps
        ]
        first = observations[0]
        if first.status == LAUNCHED:
            # A fact, unlike the guess below, so never dropped: if it contradicts equal steps,
            # the steps are not equal and backing off is right.
            return _end_windows(points, last.time, last.current_step, last.num_steps, first.time)
        if first.status == PENDING and first.current_step == 1:
            guess = first.time - self.start_window
            windows = _end_windows(points, last.time, last.current_step, last.num_steps, guess)
            if windows is not None:
                return windows
        return _end_windows(points, last.time, last.current_step, last.num_steps, -math.inf)


def _end_windows(
    points: Sequence[tuple[float, int]],
    now: float,
    step: int,
    num_steps: int,
    not_started_before: float,
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The windows in which ``step`` and ``num_steps`` end, or ``None`` if no equal steps
    starting at ``not_started_before`` or later explain ``points``."""
    low, high = _step_duration_bounds(points, not_started_before)
    if low >= high or math.isinf(high):
        return None
    next_step = _window(points, now, step, low, high, not_started_before)
    finish = _window(points, now, num_steps, low, high, not_started_before)
    if next_step is None or finish is None:
        return None
    return next_step, finish


def _window(
    points: Sequence[tuple[float, int]],
    now: float,
    step: int,
    low: float,
    high: float,
    not_started_before: float,
) -> tuple[float, float] | None:
    # Step ``step`` ends at s0 + step * d: after each point's and the start's lower bound, by
    # each point's upper bound (the start bounds s0 from below only).
    earliest = max(not_started_before + step * low, *(t + (step - j) * low for t, j in points))
    latest = min(t + (step - j + 1) * high for t, j in points)
    if latest <= now or earliest > latest:
        return None  # the steps are not equally long after all
    return earliest, latest


def _step_duration_bounds(
    points: Sequence[tuple[float, int]], not_started_before: float
) -> tuple[float, float]:
    low, high = 0.0, math.inf
    for t_a, j_a in points:
        if j_a > 1:
            # s0 >= not_started_before and s0 + (j_a - 1) * d <= t_a.
            high = min(high, (t_a - not_started_before) / (j_a - 1))
        for t_b, j_b in points:
            gap = j_b - j_a - 1  # (j_b - j_a - 1) * d < t_b - t_a
            if gap > 0:
                high = min(high, (t_b - t_a) / gap)
            elif gap < 0:
                low = max(low, (t_b - t_a) / gap)
    return low, high
