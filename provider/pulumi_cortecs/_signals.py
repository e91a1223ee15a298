"""Signals that end a job: Ctrl-C (SIGINT), SIGTERM (a CI runner cancelling, ``kill``) and
SIGHUP (the terminal closed). A job must tear its instance down on each, so each becomes an
exception that unwinds to the teardown, and the teardown itself is not cut short by another.

Python turns SIGINT into :class:`KeyboardInterrupt` already; SIGTERM and SIGHUP kill it without
running a single ``finally``. Handlers can only be installed from the main thread: elsewhere
these helpers change nothing (the process's own handlers stay in charge).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

ENDING_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that end a job (SIGHUP does not exist on Windows)."""

Handler = Callable[[int, FrameType | None], object]


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived; a :class:`BaseException`, like :class:`KeyboardInterrupt`,
    so that code catching ``Exception`` does not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum


def exit_status(signum: int) -> int:
    """What a shell reports for a process ended by ``signum``: 128 + its number."""
    return 128 + signum


def ending_signal(error: BaseException) -> int | None:
    """The signal behind ``error`` (or an error it was raised from), if one ended the job."""
    seen: BaseException | None = error
    while seen is not None:
        if ending_signal_itself(seen):
            return seen.signum if isinstance(seen, Terminated) else int(signal.SIGINT)
        seen = seen.__cause__ or seen.__context__
    return None


def ending_signal_itself(error: BaseException) -> bool:
    """Whether ``error`` is the exception a signal raised (not one raised because of it)."""
    return isinstance(error, KeyboardInterrupt | Terminated)


@contextlib.contextmanager
def handled(handler: Handler) -> Iterator[None]:
    """Every ending signal goes to ``handler`` inside the block; the previous handlers are
    restored after it. Nothing changes outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in ENDING_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _raise(signum: int, _: FrameType | None) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def raising() -> contextlib.AbstractContextManager[None]:
    """Inside the block, SIGINT raises :class:`KeyboardInterrupt` and SIGTERM or SIGHUP
    :class:`Terminated`, so that ``finally`` clauses run."""
    return handled(_raise)


@contextlib.contextmanager
def postponed(on_signal: Callable[[int], None]) -> Iterator[Callable[[], None]]:
    """Inside the block an ending signal waits: ``on_signal(signum)`` is told at once, and the
    signal reaches the handler in place before the block (raising there, under
    :func:`raising`) when the block calls the function it was given, or else when it ends.

    For a step that must not be cut in two, such as a start request: interrupted once it is
    sent, its answer (which names the instance to clean up) would be lost. Where the block
    calls that function is where the signal lands. Nothing changes outside the main thread.
    """
    arrived: list[int] = []

    def wait(signum: int, _: FrameType | None) -> None:
        arrived.append(signum)
        on_signal(signum)

    with contextlib.ExitStack() as held:
        held.enter_context(handled(wait))

        def deliver() -> None:
            held.close()  # the handlers from before the block are back
            waiting = list(dict.fromkeys(arrived))  # once each, in the order they came
            arrived.clear()
            for signum in waiting:
                signal.raise_signal(signum)  # its handler runs (and may raise) before this returns

        try:
            yield deliver
        finally:
            deliver()


def deferred(on_signal: Callable[[int], None]) -> contextlib.AbstractContextManager[None]:
    """Inside the block, an ending signal interrupts nothing: ``on_signal(signum)`` is told
    (to say that the teardown goes on), and the block finishes its work."""
    return handled(lambda signum, _: on_signal(signum))
