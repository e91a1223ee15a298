"""Starting an instance bills a new one every time the request is sent, so a start is never
sent again while the outcome of an earlier send is unknown.

When a send's outcome is unknown (the connection broke after sending, a 5xx, an unreadable
success), the instances that appeared since the start began are checked for one with these
arguments: if there is one, it is the result; if there is none, sending again is safe. Until
that check has an answer, nothing is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from pulumi_cortecs._exceptions import ApiError
from pulumi_cortecs.api import _retry
from pulumi_cortecs.api._models import Instance, InstanceArgs

START_PATH = "/instances/start"

logger = logging.getLogger("pulumi_cortecs.api")


def start_once(
    args: InstanceArgs,
    *,
    send: Callable[[], Instance],
    list_instances: Callable[[], list[Instance]],
    with_retries: Callable[[Callable[[], Instance]], Instance],
    describe: Callable[[BaseException], str],
) -> Instance:
    """The instance ``send`` started (sent through ``with_retries``), exactly once."""
    known = {instance.instance_id for instance in list_instances()}
    unresolved = False

    def attempt() -> Instance:
        nonlocal unresolved
        if unresolved:
            # The check after an unknown outcome failed; it goes first, a resend after.
            started = find_started(list_instances(), args, known)
            if started is not None:
                return started
            unresolved = False
        try:
            return send()
        except (ApiError, httpx.TransportError) as exc:
            if not _retry.is_ambiguous(exc):
                raise
            unresolved = True
            started = find_started(list_instances(), args, known)
            unresolved = False
            outcome = (
                f"created instance {started.instance_id}; using it"
                if started
                else "created no instance; it is safe to send again"
            )
            logger.warning("Start of %s failed (%s) and %s", args.model_id, describe(exc), outcome)
            if started is None:
                raise
            return started

    return with_retries(attempt)


def find_started(instances: list[Instance], args: InstanceArgs, known: set[str]) -> Instance | None:
    """The instance a start with ``args`` created, among ``instances`` not ``known`` before."""
    requested = args.to_request()
    candidates = [
        instance
        for instance in instances
        if instance.instance_id not in known
        and all(
            getattr(instance.instance_args, field) == value for field, value in requested.items()
        )
    ]
    if len(candidates) > 1:
        ids = ", ".join(sorted(c.instance_id for c in candidates))
        raise ApiError(
            f"POST {START_PATH} had an unknown outcome and several new instances match it "
            f"({ids}); another process is starting the same model. Check and delete the "
            "extra ones",
            method="POST",
            path=START_PATH,
        )
    return candidates[0] if candidates else None
