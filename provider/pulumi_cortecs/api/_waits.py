"""Waiting for an instance to reach a status, polled at the cadence a poll policy chooses.

Only a confirmed state ends a wait. An API that did not shape this client glitches: a proxy
answers a status request with an HTML page, a body comes back empty or with a null status, a
GET just after a start answers 404 because the API lags behind its own writes. Each of these is
an answer that confirmed nothing (:data:`~._polling.UNCONFIRMED`), asked again like any other
transient failure. An instance is gone only once the API has said so consistently over a short
window and its instance list agrees; an unreadable answer that persists ends the wait with it.

Waits learn their instance's status from the instance list their client's
:class:`~._poller.StatusPoller` shares among them; only an instance the list does not show (the
API may list it late, or it is gone) is asked about alone, under the rules above.

A status request that fails even after its own retries (a rate limit or 5xx that outlasted
them, the API unreachable) is an outage, not an answer: the wait asks again at its next poll,
for up to :data:`OUTAGE_WINDOW`. Since waits share one list, ending them on its failure would
end every boot of a 64-instance ``up`` at once, each instance stopped and deleted, for a blip.

A client that started or restarted an instance itself knows when that run began; it keeps
that knowledge (:class:`Launches`) so that a wait need not learn it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pulumi_cortecs._exceptions import (
    ApiConnectionError,
    ApiError,
    InstanceStoppedError,
    MalformedResponseError,
    NotFoundError,
    WaitTimeoutError,
)
from pulumi_cortecs.api._models import PENDING, RUNNING, STOPPED, Instance, ReadList
from pulumi_cortecs.api._poller import Listing, StatusPoller, acceptable_after
from pulumi_cortecs.api._polling import UNCONFIRMED, Observation, PollPolicy
from pulumi_cortecs.api._retry import is_transient

logger = logging.getLogger("pulumi_cortecs.api")

STOP_TIMEOUT_SECONDS = 600.0
"""How long a wait for a stop takes before it gives up: the API deletes only stopped
instances, so a delete (the provider's or the CLI's) waits this long for its stop."""

# Gone means this many 404s in a row, spread over at least this long, and then the list: long
# enough for an API to catch up with its own writes, short enough for a cleanup to wait out.
GONE_ANSWERS = 3
GONE_WINDOW = 1.5
# Unreadable answers are ridden out about as long as a provider call rides out 5xx answers (7
# attempts, backoff from 0.5 s doubling): past that it is not a glitch but another server.
UNREADABLE_WINDOW = 30.0
# Status requests failing after their retries are ridden out this long (each poll is a request
# with its own ~30 s of tries): an API outage of minutes ends no boot, a dead API still does.
OUTAGE_WINDOW = 300.0

ANY_STATUS = None
"""A wait ``target`` that any confirmed status reaches (see :func:`wait_for`)."""


class Launches:
    """What starting an instance taught, by instance: the answer to the start or restart,
    observed when the request was sent (the run cannot have begun earlier). Kept until a wait
    sees the run end, or the instance is stopped or deleted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, Observation] = {}

    def remember(self, instance: Instance, sent_at: float) -> None:
        with self._lock:
            self._records[instance.instance_id] = observe(instance, sent_at)

    def forget(self, instance_id: str) -> None:
        with self._lock:
            self._records.pop(instance_id, None)

    def of(self, instance_id: str) -> list[Observation]:
        with self._lock:
            record = self._records.get(instance_id)
        return [] if record is None else [record]


class _StatusReader:
    """What the instance list, or where it cannot answer a request about the one instance,
    confirms about one instance: the instance, or nothing (an unreadable answer, or a 404 the
    API has not confirmed yet)."""

    def __init__(
        self,
        instance_id: str,
        get_instance: Callable[[str], Instance],
        list_instances: Callable[[], ReadList[Instance]],
        clock: Callable[[], float],
    ) -> None:
        self._instance_id = instance_id
        self._get_instance = get_instance
        self._list_instances = list_instances
        self._clock = clock
        self._forget_glitches()

    def read(self, listing: Listing) -> tuple[float, Instance | None]:
        """When the answer was asked for, and the instance as it confirms it or ``None``. Where
        the list cannot answer (it does not show the instance, or glitched), the instance is
        asked about alone. Raises once the instance is confirmed gone, once unreadable answers
        or an outage have persisted, or with an error that is neither (a refusal)."""
        try:
            found = listing.find(self._instance_id)
        except (MalformedResponseError, NotFoundError):
            found = None  # a glitch of the list: the instance's own answer may be read
        except ApiError as error:  # no list: asking about the instance alone would fail too
            return listing.sent, self._unconfirmed(error, listing.sent)
        if found is not None:
            self._forget_glitches()
            return listing.sent, found
        sent = self._clock()
        try:
            instance = self._get_instance(self._instance_id)
        except ApiError as error:
            return sent, self._unconfirmed(error, sent)
        self._forget_glitches()
        return sent, instance

    @property
    def last_error(self) -> ApiError | None:
        return self._last_error

    def _forget_glitches(self) -> None:
        self._unconfirmed_since: float | None = None
        self._not_found_at: list[float] = []
        self._last_error: ApiError | None = None

    def _unconfirmed(self, error: ApiError, sent: float) -> Instance | None:
        if not isinstance(error, MalformedResponseError | NotFoundError) and not _outage(error):
            raise error  # a refusal, neither a glitch nor an outage: asking again cannot help
        if self._unconfirmed_since is None:
            self._unconfirmed_since = sent
        self._last_error = error
        if not isinstance(error, NotFoundError):
            self._not_found_at.clear()  # the 404s, if any, were not consistent
            window = OUTAGE_WINDOW if _outage(error) else UNREADABLE_WINDOW
            if sent - self._unconfirmed_since >= window:
                raise error
        else:
            self._not_found_at.append(sent)
            times = self._not_found_at
            if len(times) >= GONE_ANSWERS and times[-1] - times[0] >= GONE_WINDOW:
                return self._ask_the_list()
        logger.info(
            "%s; asking again (nothing confirmed for %.0f s)",
            error.message,
            sent - self._unconfirmed_since,
        )
        return None

    def _ask_the_list(self) -> Instance | None:
        """After consistent 404s: the instance if the list shows it (the GET lags), ``None``
        if an entry the list could not read may be it; else it is gone."""
        listed = self._list_instances()
        found = next((i for i in listed if i.instance_id == self._instance_id), None)
        if found is not None:
            self._forget_glitches()
            return found
        if any(_names(entry.item, self._instance_id) for entry in listed.unreadable):
            return None
        times = self._not_found_at
        raise NotFoundError(
            f"Instance {self._instance_id} no longer exists: GET /instances/"
            f"{self._instance_id} answered 404 {len(times)} times over "
            f"{times[-1] - times[0]:.1f} s and the instance list does not show it",
            method="GET",
            path=f"/instances/{self._instance_id}",
            status_code=404,
        )


def _outage(error: ApiError) -> bool:
    """Whether a status request failed for want of an answer (its retries ran out on 429s,
    5xx or a broken connection), not because of what the API answered."""
    return isinstance(error, ApiConnectionError) or is_transient(error)


def _names(item: Any, instance_id: str) -> bool:
    return isinstance(item, dict) and item.get("instance_id") == instance_id


def wait_for(
    instance_id: str,
    target: str | None,
    *,
    get_instance: Callable[[str], Instance],
    list_instances: Callable[[], ReadList[Instance]],
    poller: StatusPoller,
    policy: PollPolicy,
    launches: Launches,
    timeout: float,
    on_progress: Callable[[Instance], None] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Instance:
    """Poll until the instance has status ``target`` (any status for :data:`ANY_STATUS`); fail
    fast if it is stopped while ``target`` is running.

    Raises :class:`NotFoundError` only once the instance is confirmed gone, the last
    unreadable answer once they have persisted for :data:`UNREADABLE_WINDOW`, and the last
    failure of an outage once it has lasted :data:`OUTAGE_WINDOW`. Other errors of a status
    request (credentials refused, say) end the wait at once.
    """
    began = clock()
    deadline = began + timeout
    observations = launches.of(instance_id)
    known_before = len(observations)
    reader = _StatusReader(instance_id, get_instance, list_instances, clock)
    last_seen: Instance | None = None
    # A start's answer in hand that shows the run under way is the wait's first observation;
    # with anything else in hand, or nothing, the first list is one sent from now on.
    due = after = began
    if observations and observations[-1].status == PENDING:
        delay = policy.next_delay(observations)
        due = observations[-1].time + delay
        after = acceptable_after(began, observations[-1].time, delay)
    while True:
        pause = min(due, deadline) - clock()
        if pause > 0:
            sleep(pause)
        sent, instance = reader.read(poller.listing(after))
        if instance is None:
            observations.append(Observation(sent, UNCONFIRMED))
        else:
            observation = observe(instance, sent)
            seen = [o for o in observations[known_before:] if o.status != UNCONFIRMED]
            observations.append(observation)
            # The first status of a wait is always reported, even if the start answered the same.
            if on_progress is not None and (not seen or seen[-1].stage != observation.stage):
                on_progress(instance)
            last_seen = instance
            if instance.status != PENDING:
                launches.forget(instance_id)  # that run is over: running, or stopped
            if _reached(instance, target):
                return instance
        if sent >= deadline:
            raise _timeout_error(instance_id, target, timeout, last_seen, reader.last_error)
        delay = policy.next_delay(observations)
        due = sent + delay
        after = acceptable_after(began, sent, delay)


def _reached(instance: Instance, target: str | None) -> bool:
    """Whether the wait is over; raises if it can never be."""
    if target is ANY_STATUS or instance.status == target:
        return True
    if target == RUNNING and instance.status == STOPPED:
        raise InstanceStoppedError(
            f"Instance {instance.instance_id} was stopped while waiting for it to run",
            method="GET",
            path=f"/instances/{instance.instance_id}",
        )
    return False


def observe(instance: Instance, time: float) -> Observation:
    progress = instance.instance_status.init_progress
    return Observation(
        time=time,
        status=instance.status,
        current_step=progress.current_step if progress else None,
        num_steps=progress.num_steps if progress else None,
    )


def _timeout_error(
    instance_id: str,
    target: str | None,
    timeout: float,
    instance: Instance | None,
    last_error: ApiError | None,
) -> WaitTimeoutError:
    wanted = "found or confirmed gone" if target is ANY_STATUS else target
    if instance is None:
        status = f"none confirmed ({last_error.message if last_error else 'no answer'})"
    else:
        status = instance.status
        progress = instance.instance_status.init_progress
        if progress is not None and status != target:
            step = f"step {progress.current_step}/{progress.num_steps}"
            status = f"{status}, {step} {progress.description}".rstrip()
    error = WaitTimeoutError(
        f"Instance {instance_id} was not {wanted} after {timeout:g} s; last status: {status}",
        method="GET",
        path=f"/instances/{instance_id}",
    )
    error.instance_id = instance_id
    error.last_status = instance.status if instance else None
    return error
