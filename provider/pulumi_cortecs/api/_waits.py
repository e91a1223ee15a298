"""Waiting for an instance to reach a status, polled at the cadence a poll policy chooses.

A client that started or restarted an instance itself knows when that run began; it keeps
that knowledge (:class:`Launches`) so that a wait need not learn it, or guess it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import tenacity

from pulumi_cortecs._exceptions import InstanceStoppedError, WaitTimeoutError
from pulumi_cortecs.api._models import PENDING, RUNNING, STOPPED, Instance
from pulumi_cortecs.api._polling import LAUNCHED, Observation, PollPolicy


class Launches:
    """What starting an instance taught, by instance: the run cannot have begun before the
    request was sent, and it was where the answer says by the time the answer arrived. Kept
    until a wait sees the run end, or the instance is stopped or deleted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[Observation, Observation]] = {}

    def remember(self, launched_at: float, instance: Instance, answered_at: float) -> None:
        launched = Observation(launched_at, LAUNCHED)
        with self._lock:
            self._records[instance.instance_id] = (launched, observe(instance, answered_at))

    def forget(self, instance_id: str) -> None:
        with self._lock:
            self._records.pop(instance_id, None)

    def of(self, instance_id: str) -> list[Observation]:
        with self._lock:
            return list(self._records.get(instance_id, ()))


def wait_for(
    instance_id: str,
    target: str,
    *,
    get_instance: Callable[[str], Instance],
    policy: PollPolicy,
    launches: Launches,
    timeout: float,
    on_progress: Callable[[Instance], None] | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Instance:
    """Poll until the instance has status ``target``; fail fast if it is stopped while
    ``target`` is running. Errors of a poll are not polled through: each status request has
    its own retries."""
    deadline = clock() + timeout
    observations = launches.of(instance_id)
    first_poll = len(observations)

    def poll() -> Instance:
        instance = get_instance(instance_id)
        observation = observe(instance, clock())
        # The first status of a wait is always reported, even if the start answered the same.
        changed = len(observations) == first_poll or observations[-1].stage != observation.stage
        observations.append(observation)
        if changed and on_progress is not None:
            on_progress(instance)
        if instance.status != PENDING:
            launches.forget(instance_id)  # that run is over: running, or stopped
        if target == RUNNING and instance.status == STOPPED:
            raise InstanceStoppedError(
                f"Instance {instance_id} was stopped while waiting for it to run",
                method="GET",
                path=f"/instances/{instance_id}",
            )
        return instance

    def timed_out(state: tenacity.RetryCallState) -> Instance:
        assert state.outcome is not None
        raise _timeout_error(state.outcome.result(), target, timeout)

    polling = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda instance: instance.status != target),
        wait=lambda _: max(0.0, min(policy.next_delay(observations), deadline - clock())),
        stop=lambda _: clock() >= deadline,
        sleep=sleep,
        retry_error_callback=timed_out,
    )
    return polling(poll)


def observe(instance: Instance, time: float) -> Observation:
    progress = instance.instance_status.init_progress
    return Observation(
        time=time,
        status=instance.status,
        current_step=progress.current_step if progress else None,
        num_steps=progress.num_steps if progress else None,
    )


def _timeout_error(instance: Instance, target: str, timeout: float) -> WaitTimeoutError:
    status = instance.status
    progress = instance.instance_status.init_progress
    if progress is not None and status != target:
        step = f"step {progress.current_step}/{progress.num_steps}"
        status = f"{status}, {step} {progress.description}".rstrip()
    error = WaitTimeoutError(
        f"Instance {instance.instance_id} was not {target} after {timeout:g} s; "
        f"last status: {status}",
        method="GET",
        path=f"/instances/{instance.instance_id}",
    )
    error.instance_id = instance.instance_id
    error.last_status = instance.status
    return error
