"""One instance list for every wait of a client that is due, however many wait at once.

Sixty-four creates waiting side by side would each ask ``GET /instances/{id}`` about once a
second: sixty-four requests a second against an account's rate limit, just when a team scales
up. :class:`StatusPoller` answers them all with ``GET /instances``: a wait asks it for a list
sent no earlier than it can accept (:meth:`StatusPoller.listing`), and gets the latest list if
that one is recent enough, the one under way if that was sent late enough, or else sends one for
itself and everyone who asks while it is under way. A wait accepts any list sent in the second
half of its gap (see :func:`acceptable_after`), so waits that began apart fall onto the same
lists within a few gaps, and the process asks about as often as its most urgent wait needs:
about once a second.

Each wait sleeps until it is due with its own (injected) sleep, so that a cancellation that ends
sleeps ends every wait at once; only a wait whose list is under way blocks on the poller, for
that one request, and the request's failure (a cancelled retry among them) ends every wait that
took it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pulumi_cortecs.api._models import Instance, ReadList


@dataclass(frozen=True)
class Listing:
    """One ``GET /instances`` and when it was sent: what it answered, or why it failed."""

    number: int  # lists are numbered as they are sent, from 1
    sent: float
    instances: ReadList[Instance] | None
    error: Exception | None = None

    def answer(self) -> ReadList[Instance]:
        """The instances listed; raises the request's error if it failed."""
        if self.error is not None:
            raise self.error
        assert self.instances is not None  # a listing holds one or the other
        return self.instances

    def find(self, instance_id: str) -> Instance | None:
        """The instance as listed; ``None`` if the list does not show it (or could not read its
        entry). Raises the request's error if it failed."""
        return self._by_id.get(instance_id)

    @functools.cached_property
    def _by_id(self) -> dict[str, Instance]:
        """Built once per listing: every wait of the tick looks itself up in it."""
        return {instance.instance_id: instance for instance in self.answer()}


def acceptable_after(began: float, last_seen: float, delay: float) -> float:
    """When a list a wait may take must have been sent after: after the wait began (after
    whatever the caller did to the instance before waiting), and in the second half of the gap
    from its latest observation to the next one. Taking a list early shortens the gap, so a
    state is never seen later than the policy promises."""
    return max(began, last_seen + delay / 2)


class StatusPoller:
    """Shares ``GET /instances`` among the waits of one client (one provider process)."""

    def __init__(
        self, list_instances: Callable[[], ReadList[Instance]], clock: Callable[[], float]
    ) -> None:
        self._list_instances = list_instances
        self._clock = clock
        self._changed = threading.Condition()
        self._latest: Listing | None = None
        self._sent = 0  # lists sent so far
        self._under_way = False

    def listing(self, after: float) -> Listing:
        """A list sent after ``after`` (or at ``after`` once this call began: a clock may not
        have moved since): the latest, the one under way, or a new one."""
        with self._changed:
            sent_before = self._sent
            while True:
                latest = self._latest
                if latest is not None and (
                    latest.sent > after or (latest.sent == after and latest.number > sent_before)
                ):
                    return latest
                if not self._under_way:
                    break
                # Take the one under way if it was sent late enough, else send the next.
                self._changed.wait()
            self._sent += 1
            number, sent = self._sent, self._clock()
            self._under_way = True
        listing: Listing | None = None  # stays None only if the request was interrupted
        try:
            listing = Listing(number, sent, self._list_instances())
        except Exception as error:
            listing = Listing(number, sent, None, error)
        finally:
            with self._changed:
                # Without a listing, whoever is waiting for this one sends the next.
                self._latest = listing or self._latest
                self._under_way = False
                self._changed.notify_all()
        return listing
