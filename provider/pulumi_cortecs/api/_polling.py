"""When to ask again about an instance that is still coming up (or an endpoint not answering yet).

Nothing about an instance's steps says when it will run: an API may run it as its last step
begins or ends, steps may be equal or not, allocation may queue for minutes, a warm model may
run at once. So the cadence bets on none of that. :class:`ProportionalPollPolicy` asks again
after a fixed fraction of the time the wait has been going on (at least just under a second, at
most five). However the steps are timed, the state a wait is looking for is then seen at most
that fraction of the whole wait after it arrived (within a second for a ten-second boot, never
later than a plain 5 s poll would be), and the gaps grow with the wait, so a long one asks a fifth
as often as a short one. The steps are for the progress log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Just under a second: a state seen one gap late is still seen within a second of arriving, with
# the answer's own round trip (tens of milliseconds) included.
MINIMUM_GAP = 0.95

UNCONFIRMED = "unconfirmed"
"""The status of a request whose answer confirmed nothing: a body that could not be read, or a
404 the API has not yet confirmed (an API may lag behind its own writes)."""


@dataclass(frozen=True)
class Observation:
    """What one request saw, and when it was sent (by the waiting client's clock): whatever it
    saw was so at some moment after that."""

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
        """Seconds from the latest request to the next one.

        ``observations`` is never empty and ends with the latest request. The first is where
        the wait began: when the waiting client started or restarted the instance itself, what
        that request answered (sent at the launch); otherwise the wait's first request.
        """
        ...


class ProportionalPollPolicy:
    """Asks again after ``fraction`` of the time since the first observation, at least
    ``minimum`` and at most ``maximum`` seconds later.

    A state that arrives between two requests is seen by the second, so it is seen at most
    one gap late whatever the steps did: ``fraction`` of the time it took to arrive, or
    ``minimum`` if that is more, and never more than ``maximum``. An answer that confirmed
    nothing (:data:`UNCONFIRMED`) is asked again after ``minimum``, so that a glitch never
    costs a whole gap.
    """

    def __init__(
        self, *, fraction: float = 0.1, minimum: float = MINIMUM_GAP, maximum: float = 5.0
    ) -> None:
        if not 0 < minimum <= maximum or fraction < 0:
            raise ValueError("need 0 < minimum <= maximum and a non-negative fraction")
        self.fraction = fraction
        self.minimum = minimum
        self.maximum = maximum

    def next_delay(self, observations: Sequence[Observation]) -> float:
        last = observations[-1]
        if last.status == UNCONFIRMED:
            return self.minimum
        elapsed = last.time - observations[0].time
        return min(max(self.fraction * elapsed, self.minimum), self.maximum)
