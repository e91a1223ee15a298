"""``run MODEL -- CMD``: an instance for the length of one command.

The instance's life is :func:`pulumi_cortecs._job.job_instance`'s (checked like a preview,
written ahead, ready once it answers, stopped and deleted afterwards); this module adds the
command line, the progress bar, and the command itself: started with the instance in its
environment and its stdin, stdout and stderr untouched, given the signals ``run`` receives,
and stopped when ``--auto-stop-after`` runs out. ``run`` exits with the command's status.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stderr
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from pulumi_cortecs import _signals
from pulumi_cortecs._job import JobRefused, job_instance, run_owner
from pulumi_cortecs._rules import Duration, duration_seconds
from pulumi_cortecs._schema import API_KEY, CLIENT_SECRET
from pulumi_cortecs.cli._context import Context
from pulumi_cortecs.cli._errors import Interrupted, UsageError
from pulumi_cortecs.cli._rows import Row

if TYPE_CHECKING:
    from pulumi_cortecs import Instance

STOP_GRACE_SECONDS = 10.0
"""How long a command gets to exit after SIGTERM when ``--auto-stop-after`` runs out."""
EXIT_AUTO_STOPPED = 124
"""``run``'s status when the command was stopped by ``--auto-stop-after`` (as ``timeout``'s)."""
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126

_FLAGS = {
    "model_id": "MODEL",
    "hardware_type_id": "--hardware",
    "context_length": "--context",
    "num_workers": "--workers",
    "billing_interval": "--billing",
    "max_price_per_hour": "--max-price-per-hour",
}
"""The flag that sets each input a preview checks, for messages."""


def duration(text: str) -> str:
    """``--auto-stop-after``, ``--wait-timeout``: a duration as ``auto_stop_after`` takes it
    (``90s``, ``45m``, ``8h``, ``2d``)."""
    try:
        return Duration().parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def command_environment(
    instance: Mapping[str, str], environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """What CMD runs with: ``run``'s environment and the instance's variables, less the
    account's client secret. CMD needs the instance (its URL and API key), never the power to
    start more billed instances, and a job's logs and crash reports are less guarded than a CI
    secret."""
    return {
        **{name: value for name, value in environ.items() if name != CLIENT_SECRET.environment},
        **instance,
    }


@dataclass(frozen=True)
class RunRow(Row):
    """What a run did: ``--json`` prints it on stdout after the command's own output."""

    instance_id: str
    model_name: str
    hardware_type_id: str | None
    exit_status: int
    kept: bool


def run_rows(ctx: Context, args: argparse.Namespace) -> list[RunRow]:
    """Start the instance, run the command with it, stop and delete it; one row."""
    command = list(args.job_command)
    if not command:
        raise UsageError(
            "`run` needs a command after the model and its options",
            f"e.g. run {args.model} -- python eval.py",
        )
    if not API_KEY.value(None):
        raise UsageError(
            f"`run` needs the instances' API key in {API_KEY.environment}: the command gets "
            "it as OPENAI_API_KEY, and the instance must answer with it before the command starts",
            f"export {API_KEY.environment}=... (your cortecs.ai API key)",
        )
    progress = _Progress(ctx.stderr, ctx.clock)
    try:
        with (
            redirect_stderr(progress),
            job_instance(
                args.model,
                hardware_type_id=args.hardware,
                context_length=args.context,
                num_workers=args.workers,
                billing_interval=args.billing,
                max_price_per_hour=args.max_price_per_hour,
                auto_stop_after=args.auto_stop_after,
                wait_timeout=args.wait_timeout,
                keep=args.keep,
                client=ctx.client,
                owner=run_owner("cli"),
                on_progress=progress.update,
            ) as job,
        ):
            progress.finish()
            status = _Command(command, ctx).run(
                job.environment(), duration_seconds(args.auto_stop_after)
            )
            row = RunRow(
                instance_id=job.instance_id,
                model_name=job.model_name,
                hardware_type_id=job.instance.instance_args.hardware_type_id,
                exit_status=status,
                kept=args.keep,
            )
    except JobRefused as refused:
        raise UsageError(
            "; ".join(
                f"{_FLAGS.get(f.property, f.property)}: {f.reason}" for f in refused.failures
            ),
            "nothing was started; `models` and `hardware` list what there is",
        ) from None
    except BaseException as error:
        signum = _signals.ending_signal(error)
        if signum is None:
            raise
        # A failed start's message says what became of its instance; a signal's own says nothing.
        said = "" if _signals.ending_signal_itself(error) else str(error)
        raise Interrupted(said or f"interrupted by {signal.Signals(signum).name}", signum) from None
    finally:
        progress.finish()
    return [row]


def exit_status(rows: Sequence[RunRow]) -> int:
    """``run`` exits with its command's status."""
    return rows[0].exit_status


def render(rows: Sequence[RunRow], _: object) -> str:
    """Nothing: stdout is the command's alone; what ``run`` says goes to stderr."""
    return ""


class _Command:
    """The user's command as a child process that gets the signals ``run`` receives."""

    def __init__(self, argv: list[str], ctx: Context) -> None:
        self._argv = argv
        self._ctx = ctx
        self._process: subprocess.Popen[bytes] | None = None
        self._signalled = False

    def run(self, environment: Mapping[str, str], auto_stop_after: float) -> int:
        """Its exit status (128 + N when signal N ended it)."""
        name = shlex.join(self._argv)
        try:
            self._process = subprocess.Popen(self._argv, env=command_environment(environment))
        except FileNotFoundError:
            self._ctx.say(f"{self._argv[0]}: command not found")
            return EXIT_NOT_FOUND
        except PermissionError:
            self._ctx.say(f"{self._argv[0]}: permission denied")
            return EXIT_NOT_EXECUTABLE
        with _signals.handled(self._pass_on):
            try:
                status = self._process.wait(timeout=auto_stop_after)
            except subprocess.TimeoutExpired:
                self._ctx.say(
                    f"--auto-stop-after: `{name}` still runs after {auto_stop_after:.0f} s: "
                    "stopping it (SIGTERM), then the instance"
                )
                self._stop()
                return EXIT_AUTO_STOPPED
        return _signals.exit_status(-status) if status < 0 else status

    def _pass_on(self, signum: int, _: FrameType | None) -> None:
        """The first signal goes to the command (unless the terminal already gave it a Ctrl-C);
        a second one kills it, for a command that will not stop."""
        process = self._process
        assert process is not None
        if self._signalled:
            self._ctx.say(f"{signal.Signals(signum).name} again: killing the command")
            process.kill()
            return
        self._signalled = True
        if signum != signal.SIGINT or not _terminal_sends_interrupts():
            process.send_signal(signum)

    def _stop(self) -> None:
        process = self._process
        assert process is not None
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _terminal_sends_interrupts() -> bool:
    """Whether a Ctrl-C reaches the command without us: ``run`` is in the foreground of a
    terminal, and the command is in ``run``'s process group."""
    try:
        descriptor = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(descriptor) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(descriptor)


class _Progress(io.TextIOBase):
    """Where the boot's progress goes: lines as they come, and on a terminal a bar below them
    (each line clears the bar, is written, and the bar is drawn again)."""

    _WIDTH = 24

    def __init__(self, stderr: TextIO, clock: Callable[[], float]) -> None:
        self._stderr = stderr
        self._clock = clock
        self._began = clock()
        self._on_terminal = _is_terminal(stderr)
        self._bar = ""
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        if lines:
            self._draw("".join(line + "\n" for line in lines))
        return len(text)

    def update(self, instance: Instance) -> None:
        """Draw the bar for the instance's status and step (on a terminal only)."""
        if not self._on_terminal:
            return
        progress = instance.instance_status.init_progress
        done, total = (progress.current_step - 1, progress.num_steps) if progress else (0, 1)
        if instance.status == "running":
            done, total, what = 1, 1, "running: waiting for it to answer"
        else:
            what = f"{done + 1}/{total} {progress.description}" if progress else instance.status
        filled = round(self._WIDTH * done / total)
        elapsed = self._clock() - self._began
        self._bar = (
            f"{instance.instance_id} [{'#' * filled}{'.' * (self._WIDTH - filled)}] "
            f"{what}  {elapsed:.0f}s"
        )
        self._draw("")

    def finish(self) -> None:
        """Take the bar away: from now on the command has the terminal."""
        self._bar = ""
        self._draw(self._partial + "\n" if self._partial else "")
        self._partial = ""

    def _draw(self, lines: str) -> None:
        try:
            clear = "\r\x1b[K" if self._on_terminal else ""
            self._stderr.write(f"{clear}{lines}{self._bar}")
            self._stderr.flush()
        except (OSError, ValueError):
            pass  # the terminal went away (SIGHUP): the teardown goes on without it


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
