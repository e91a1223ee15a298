"""Whole lifecycles under injected faults, and a long create, measured.

Each lifecycle is one stack with one ManagedInstance taken through create → no-op → replace →
pause → resume → destroy by the engine-protocol harness, against the fake API over HTTP with
random faults at a given rate and seed. Every step runs in a fresh provider process, as each
``pulumi`` command does, and is followed (in that process) by a refresh whose outputs are
compared with what the fake really holds.

The default test suite runs small versions of this (tests/test_reliability_faults.py); the soak
runs the large one and the long create:

    python -m tests.reliability --lifecycles 50 --long-create --write RELIABILITY.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import grpc
from pulumi_cortecs import ManagedInstance
from pulumi_cortecs._schema import START_ARGS, names
from pulumi_cortecs.testing.engine import (
    CheckFailed,
    Deployment,
    ProviderProcess,
    StateEntry,
    program_inputs,
)
from pulumi_cortecs.testing.fake import DEFAULT_RANDOM_KINDS
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env, start_fake_api
from pulumi_cortecs.testing.s3 import S3Server

from tests import LLAMA

ARG_FIELDS = names(START_ARGS)

# (step, inputs of the one resource or None to destroy, the plan the engine must make, status)
Step = tuple[str, dict[str, Any] | None, str, str | None]


def lifecycle_steps(variant: int = 0, stack: str = "test") -> list[Step]:
    """The steps of a lifecycle of ``stack``; inputs come from the real ManagedInstance, with
    context lengths shifted by ``variant`` (so that stacks can declare identical instances or
    not)."""
    first = {"model_id": LLAMA, "context_length": 8000 + variant}
    second = {"model_id": LLAMA, "context_length": 12000 + variant}
    declared = program_inputs(
        lambda: [
            ManagedInstance("v1", **first),
            ManagedInstance("v2", **second),
            ManagedInstance("paused", **second, running=False),
        ],
        stack=stack,
    )
    return [
        ("create", declared["v1"], "create", "running"),
        ("no-op", declared["v1"], "same", "running"),
        ("replace", declared["v2"], "replace", "running"),
        ("pause", declared["paused"], "update", "stopped"),
        ("resume", declared["v2"], "update", "running"),
        ("destroy", None, "delete", None),
    ]


@dataclass
class LifecycleResult:
    completed: bool = False
    failure: str | None = None
    disagreements: list[str] = field(default_factory=list)
    recorded_ids: set[str] = field(default_factory=set)


@dataclass
class FaultRun:
    """What one batch of lifecycles at one fault rate came to."""

    rate: float
    seed: int
    lifecycles: int
    completed: int
    leaked: int
    duplicates: int
    shared: int
    disagreements: list[str]
    failures: list[str]
    starts: int
    api_calls: int
    faults_injected: dict[str, int]
    seconds: float

    @property
    def faults_total(self) -> int:
        return sum(self.faults_injected.values())


@contextmanager
def provider_process(
    fake: FakeApiProcess, home: Path, journal_url: str | None = None
) -> Iterator[ProviderProcess]:
    provider = ProviderProcess(env=provider_env(home, journal_url))
    try:
        provider.configure(fake.stack_config())
        yield provider
    finally:
        provider.close()


def disagreements(stack: Deployment, live: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Where refreshed state and the API differ: a missing instance, its status or arguments."""
    found: list[str] = []
    for name, entry in stack.state.items():
        instance = live.get(entry.id)
        if instance is None:
            found.append(f"{name}: {entry.id} is in the state but not in the API")
            continue
        outputs = entry.outputs
        if outputs.get("instance_id") != entry.id:
            found.append(f"{name}: instance_id {outputs.get('instance_id')} but id {entry.id}")
        if outputs.get("status") != instance["status"]:
            found.append(f"{name}: status {outputs.get('status')}, API {instance['status']}")
        for arg in ARG_FIELDS:
            if outputs.get(arg) != instance["args"][arg]:
                found.append(f"{name}: {arg} {outputs.get(arg)!r}, API {instance['args'][arg]!r}")
    return found


def run_lifecycle(
    fake: FakeApiProcess, steps: list[Step], home: Path, journal_url: str | None = None
) -> LifecycleResult:
    """One lifecycle; stops at the first step that fails or plans something unexpected."""
    result = LifecycleResult()
    state: dict[str, StateEntry] = {}
    step_name = "start"
    try:
        for step_name, inputs, expected_plan, expected_status in steps:
            with provider_process(fake, home, journal_url) as provider:
                stack = Deployment(provider, state)
                if inputs is None:
                    stack.destroy()
                    continue
                plan = stack.up({"chat": dict(inputs)})
                result.recorded_ids.update(entry.id for entry in state.values())
                if plan != {"chat": expected_plan}:
                    raise AssertionError(f"planned {plan}, expected {expected_plan}")
                stack.refresh()
                live = {i["instance_id"]: i for i in fake.instances()}
                result.disagreements += [f"{step_name}: {d}" for d in disagreements(stack, live)]
                status = state["chat"].outputs["status"] if "chat" in state else None
                if status != expected_status:
                    raise AssertionError(
                        f"status {status} after refresh, expected {expected_status}"
                    )
        live_ids = {i["instance_id"] for i in fake.instances()}
        if result.recorded_ids & live_ids:
            raise AssertionError(f"still live after destroy: {result.recorded_ids & live_ids}")
        result.completed = True
    except (grpc.RpcError, CheckFailed, AssertionError) as error:
        result.failure = f"{step_name}: {_summary(error)}"
        _destroy_what_is_left(fake, state, home, journal_url)
    return result


def _destroy_what_is_left(
    fake: FakeApiProcess, state: dict[str, StateEntry], home: Path, journal_url: str | None
) -> None:
    """After a failed lifecycle, try once more (faults still on) so leaks count only real ones."""
    try:
        with provider_process(fake, home, journal_url) as provider:
            Deployment(provider, state).destroy()
    except grpc.RpcError:
        pass


def _summary(error: BaseException) -> str:
    if isinstance(error, grpc.RpcError):
        details = str(error.details() or "")  # type: ignore[attr-defined]
        lines = [line for line in details.strip().splitlines() if line.strip()]
        return lines[-1] if lines else repr(error)
    return str(error)


def run_fault_lifecycles(
    fake: FakeApiProcess,
    *,
    rate: float,
    seed: int,
    count: int,
    parallel: int = 4,
    slow_seconds: float = 0.2,
    kinds: tuple[str, ...] = DEFAULT_RANDOM_KINDS,
    machines: int = 2,
    identical: bool = False,
    journal_url: str | None = None,
    on_done: Callable[[LifecycleResult], None] | None = None,
) -> FaultRun:
    """``count`` lifecycles, ``parallel`` at a time, against a fake emptied first.

    Each lifecycle is a stack of its own, on one of ``machines`` (its journal directory is that
    machine's, unless ``journal_url`` names one in S3 that every machine shares); ``identical``
    stacks declare identical instances, which only stacks that share a journal can tell apart
    when a start's answer is lost.
    """
    steps = [
        lifecycle_steps(0 if identical else index, stack=f"stack-{index}") for index in range(count)
    ]
    fake.reset()
    fake.faults(
        random={"rate": rate, "seed": seed, "kinds": list(kinds)}, slow_seconds=slow_seconds
    )
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:

        def one(index: int) -> LifecycleResult:
            home = Path(scratch) / f"machine-{index % machines}"
            result = run_lifecycle(fake, steps[index], home, journal_url)
            if on_done is not None:
                on_done(result)
            return result

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = list(pool.map(one, range(count)))
    seconds = time.monotonic() - began
    state = fake.state()
    fake.faults(clear={})
    recorded = set().union(*(r.recorded_ids for r in results))
    held_by_two = {
        id_
        for index, result in enumerate(results)
        for other in results[index + 1 :]
        for id_ in result.recorded_ids & other.recorded_ids
    }
    return FaultRun(
        rate=rate,
        seed=seed,
        lifecycles=count,
        completed=sum(r.completed for r in results),
        leaked=len(state["instances"]),
        duplicates=max(0, state["starts"] - len(recorded)),
        shared=len(held_by_two),
        disagreements=[d for r in results for d in r.disagreements],
        failures=[r.failure for r in results if r.failure],
        starts=state["starts"],
        api_calls=sum(1 for _, path in state["calls"] if path.startswith("/api/v1")),
        faults_injected=dict(state["faults_injected"]),
        seconds=seconds,
    )


@dataclass
class LongCreate:
    boot_seconds: float
    seconds: float
    status: str
    deleted: bool


def run_long_create(
    inputs: Mapping[str, Any], step_seconds: float = 42.0, num_steps: int = 5
) -> LongCreate:
    """One create whose instance takes ``step_seconds * num_steps`` to boot, through the SDK's
    provider server over gRPC (no deadline, as the engine sends none), then its destroy."""
    fake = start_fake_api("--step-seconds", str(step_seconds), "--num-steps", str(num_steps))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            with provider_process(fake, Path(scratch)) as provider:
                stack = Deployment(provider)
                began = time.monotonic()
                stack.up({"chat": dict(inputs)})
                seconds = time.monotonic() - began
                status = stack.state["chat"].outputs["status"]
                stack.destroy()
            return LongCreate(step_seconds * num_steps, seconds, status, not fake.instances())
    finally:
        fake.close()


# -- the soak command ---------------------------------------------------------------------


def fault_table(runs: list[FaultRun]) -> str:
    rows = [
        "| fault rate | seed | stacks | completed | leaked | duplicates | held by two "
        "| disagreements | API calls | faults injected | starts | time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(run.faults_injected.items()))
        rows.append(
            f"| {run.rate:.0%} | {run.seed} | {run.lifecycles} | {run.completed} "
            f"({run.completed / run.lifecycles:.0%}) | {run.leaked} | {run.duplicates} "
            f"| {run.shared} | {len(run.disagreements)} | {run.api_calls} "
            f"| {run.faults_total} ({kinds}) "
            f"| {run.starts} | {run.seconds:.0f} s |"
        )
    return "\n".join(rows)


def machine() -> str:
    python = sys.version.split()[0]
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {python}"


def report(command: str, runs: list[FaultRun], long_create: LongCreate | None, label: str) -> str:
    lines = [
        f"### {label}",
        "",
        f"`{command}` — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}",
    ]
    if runs:
        lines += ["", fault_table(runs)]
    problems = [f"- {p}" for run in runs for p in run.failures + run.disagreements]
    if problems:
        lines += ["", "Failures and disagreements:", "", *problems]
    if long_create is not None:
        lines += [
            "",
            f"Long create: an instance booting for {long_create.boot_seconds:.0f} s was "
            f"created in {long_create.seconds:.0f} s through the SDK's provider server, status "
            f"`{long_create.status}`; destroy "
            f"{'deleted it' if long_create.deleted else 'LEFT IT BEHIND'}.",
        ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, label: str, body: str) -> None:
    """Replace (or append) the section between this label's markers, keeping the rest."""
    begin, end = f"<!-- begin {label} -->", f"<!-- end {label} -->"
    text = path.read_text() if path.exists() else ""
    section = f"{begin}\n{body}{end}"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{section}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{section}\n" if text else f"{section}\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    parser.add_argument("--lifecycles", type=int, default=50, help="lifecycles per fault rate")
    parser.add_argument(
        "--rates", type=float, nargs="*", default=[0.1, 0.25], help="none: only --long-create"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parallel", type=int, default=6, help="lifecycles at a time")
    parser.add_argument("--step-seconds", type=float, default=0.05, help="fake init step length")
    parser.add_argument("--slow-seconds", type=float, default=1.0, help="a slow fault's delay")
    parser.add_argument(
        "--machines", type=int, default=2, help="journal directories the stacks are spread over"
    )
    parser.add_argument(
        "--identical",
        action="store_true",
        help="every stack declares identical instances (give them one machine: --machines 1)",
    )
    parser.add_argument(
        "--s3-journal",
        action="store_true",
        help="the machines share one journal in S3 (moto's server over HTTP), as CI runners do",
    )
    parser.add_argument("--long-create", action="store_true", help="also the >200 s create")
    parser.add_argument("--write", type=Path, help="record the figures in this Markdown file")
    parser.add_argument("--label", default="soak", help="the section of --write to replace")
    args = parser.parse_args(argv)

    long_create: list[LongCreate] = []
    # Declared here: the SDK's mocks need the main thread's event loop.
    inputs = lifecycle_steps()[0][1] or {}
    # The long create has its own fake and mostly waits: run it beside the lifecycles.
    waiting = threading.Thread(target=lambda: long_create.append(run_long_create(inputs)))
    if args.long_create:
        waiting.start()
    fake = start_fake_api("--step-seconds", str(args.step_seconds))
    runs: list[FaultRun] = []
    s3 = S3Server() if args.s3_journal else None
    journal_url = None
    if s3 is not None:
        os.environ.update(s3.aws_environment())  # the provider processes' AWS environment
        journal_url = s3.new_journal()
    try:
        for rate in args.rates:
            done: list[LifecycleResult] = []

            def progress(
                result: LifecycleResult, rate: float = rate, done: list[LifecycleResult] = done
            ) -> None:
                done.append(result)
                mark = "ok" if result.completed else f"FAILED {result.failure}"
                print(f"  {rate:.0%} lifecycle {len(done)}/{args.lifecycles}: {mark}", flush=True)

            runs.append(
                run_fault_lifecycles(
                    fake,
                    rate=rate,
                    seed=args.seed,
                    count=args.lifecycles,
                    parallel=args.parallel,
                    slow_seconds=args.slow_seconds,
                    machines=args.machines,
                    identical=args.identical,
                    journal_url=journal_url,
                    on_done=progress,
                )
            )
    finally:
        fake.close()
        if s3 is not None:
            s3.stop()
    if args.long_create:
        waiting.join()
    command = "python -m tests.reliability " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(command.strip(), runs, long_create[0] if long_create else None, args.label)
    print(text)
    if args.write:
        write_section(args.write, args.label, text)
    ok = all(
        r.completed == r.lifecycles
        and not (r.leaked or r.duplicates or r.shared or r.disagreements)
        for r in runs
    )
    if args.long_create:
        ok = ok and bool(long_create) and long_create[0].status == "running"
        ok = ok and long_create[0].deleted
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
