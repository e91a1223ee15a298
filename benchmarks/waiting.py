"""What waiting costs the API as creates scale: 1, 16 and 64 creates at once through ONE provider
process, dynamic (``python -m pulumi.dynamic``) and native (the plugin), five runs each.

Each run is a fresh provider process against a fake whose instances boot in 5 x 1 s steps
(readiness probe on, demo API key): one create alone, then N at once. Status requests are the
fake's count of ``GET /instances`` and ``GET /instances/{id}``: per second from the last start
of the N to the end of the last create (the waits'), and per second of all N creates (each
start's own fresh list too); the ratio is the N creates' wall time over the lone create's, in
the same process.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from pulumi_cortecs import ManagedInstance
from pulumi_cortecs.testing import FakeApiProcess, provider_env, start_fake_api
from pulumi_cortecs.testing.engine import ProviderProcess, program_inputs

from . import native
from ._common import Row, median

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
SIZES = (1, 16, 64)
RUNS = 5
STEP_SECONDS = 1.0
STATUS_PATH = "/api/v1/instances"
START_PATH = STATUS_PATH + "/start"


def _status_requests(calls: list[list[str]]) -> int:
    """How many of the fake's ``calls`` asked about instances' status."""
    return sum(
        1
        for method, path in calls
        if method == "GET" and (path == STATUS_PATH or path.startswith(STATUS_PATH + "/"))
    )


class _Measured(NamedTuple):
    ratio: float  # N at once / one create
    booting: float  # status requests per second from the last start to the last create's end
    overall: float  # status requests per second over the N creates, starts' snapshots included


def _run_once(fake: FakeApiProcess, creates: list[Callable[[], object]]) -> _Measured:
    began = time.monotonic()
    creates[0]()
    one = time.monotonic() - began
    state = fake.state()
    starts_before, calls_before = state["starts"], len(state["calls"])
    with ThreadPoolExecutor(max_workers=len(creates)) as pool:
        began = time.monotonic()
        futures = [pool.submit(create) for create in creates[1:]]
        # When the last start is in, to a tenth of a second: asking the fake more often would
        # hold its lock and take the CPU the starts being measured need.
        while fake.state()["starts"] < starts_before + len(futures):
            time.sleep(0.1)
        last_start = time.monotonic()
        for future in futures:
            future.result()
        ended = time.monotonic()
    calls = fake.state()["calls"][calls_before:]
    # What is asked after the last start is the waits' (each start lists first).
    last = max(i for i, call in enumerate(calls) if call == ["POST", START_PATH])
    return _Measured(
        ratio=(ended - began) / one,
        booting=_status_requests(calls[last + 1 :]) / (ended - last_start),
        overall=_status_requests(calls) / (ended - began),
    )


def _dynamic(fake: FakeApiProcess, home: Path, size: int) -> _Measured:
    declared = program_inputs(
        lambda: [
            ManagedInstance(f"llm{n}", model_id=MODEL, readiness_probe=True)
            for n in range(size + 1)
        ]
    )
    provider = ProviderProcess(env=provider_env(home))
    try:
        provider.configure(fake.stack_config())
        checked = [provider.check(news)[0] for news in declared.values()]
        return _run_once(fake, [lambda props=props: provider.create(props) for props in checked])
    finally:
        provider.close()
        fake.reset()


def _native(fake: FakeApiProcess, home: Path, size: int) -> _Measured:
    plugin = native.configured_plugin(fake, home)
    try:
        names = [f"llm-{n}" for n in range(size + 1)]
        checked = {name: plugin.check(name, {"modelId": MODEL})[0] for name in names}
        return _run_once(
            fake,
            [lambda name=name: plugin.create(name, checked[name]) for name in names],
        )
    finally:
        plugin.close()
        fake.reset()


def run() -> list[Row]:
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as home,
        start_fake_api("--step-seconds", str(STEP_SECONDS)) as fake,
    ):
        for kind, measure in (("dynamic", _dynamic), ("native", _native)):
            for size in SIZES:
                runs = [measure(fake, Path(home), size) for _ in range(RUNS)]
                rows += _rows(kind, size, runs)
    return rows


def _rows(kind: str, size: int, runs: list[_Measured]) -> list[Row]:
    ratios = [run.ratio for run in runs]
    booting = [run.booting for run in runs]
    overall = [run.overall for run in runs]
    name = f"8. waiting, {kind}, {size} at once (5 runs)"
    lists = "status requests/s with starts' lists"
    every = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    return [
        Row(name, "status requests/s while booting, median", median(booting), None, "/s", "", None),
        Row(
            name,
            "status requests/s while booting, worst",
            max(booting),
            None,
            "/s",
            "<= 3 at 64",
            max(booting) <= 3 if size == 64 else None,
        ),
        Row(name, f"{lists}, median", median(overall), None, "/s", "", None),
        Row(name, f"{lists}, worst", max(overall), None, "/s", "", None),
        Row(name, f"{size} at once / one create, median", median(ratios), None, "", "", None),
        Row(
            name,
            f"{size} at once / one create, worst",
            max(ratios),
            None,
            "",
            "<= 1.3 in 5 of 5",
            max(ratios) <= 1.3,
            note=every,
        ),
    ]
