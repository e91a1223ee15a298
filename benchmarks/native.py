"""The native provider plugin (``provider/``), spawned as the Python language host spawns it.

- 64 creates at once through ONE plugin process, against one create in the same process: the
  server is asyncio (no thread cap) and blocking calls run in a 64-thread pool.
- Cancel: creates waiting for a booting instance (5 x 2 s) are cancelled after a second; the
  time from the Cancel RPC until every create has returned (with its instance as partial
  state). Baseline, same run: the dynamic provider, which ignores Cancel, so its create
  returns only once the instance runs.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from google.protobuf import empty_pb2
from pulumi_cortecs import ManagedInstance
from pulumi_cortecs.testing import (
    DEMO_API_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FakeApiProcess,
    ProviderProcess,
    program_inputs,
    provider_env,
    start_fake_api,
)
from pulumi_cortecs.testing.plugin import InitFailed, PluginProcess

from ._common import PROJECT_ROOT, Row

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
PARALLEL = 64
CANCELLED = 4


def configured_plugin(fake: FakeApiProcess, home: Path) -> PluginProcess:
    plugin = PluginProcess(PROJECT_ROOT / "provider", env=provider_env(home), cwd=home)
    plugin.configure(
        {
            "clientId": DEMO_CLIENT_ID,
            "clientSecret": DEMO_CLIENT_SECRET,
            "apiKey": DEMO_API_KEY,
            "apiBaseUrl": fake.api_base_url,
        },
        secret={"clientSecret", "apiKey"},
    )
    return plugin


def _parallel(fake: FakeApiProcess, home: Path) -> tuple[float, float]:
    plugin = configured_plugin(fake, home)
    try:
        news = [plugin.check(f"llm-{n}", {"modelId": MODEL})[0] for n in range(PARALLEL + 1)]
        began = time.monotonic()
        plugin.create("llm-0", news[0])
        one = time.monotonic() - began
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            began = time.monotonic()
            list(pool.map(lambda n: plugin.create(f"llm-{n}", news[n]), range(1, PARALLEL + 1)))
            many = time.monotonic() - began
    finally:
        plugin.close()
    fake.reset()
    return one, many


def _cancel_native(fake: FakeApiProcess, home: Path) -> float:
    plugin = configured_plugin(fake, home)
    try:
        news = [plugin.check(f"llm-{n}", {"modelId": MODEL})[0] for n in range(CANCELLED)]

        def create(n: int) -> None:
            with contextlib.suppress(InitFailed):  # the cancelled create, reporting its instance
                plugin.create(f"llm-{n}", news[n])

        return _cancelled_after(fake, create, plugin.cancel)
    finally:
        plugin.close()
        fake.reset()


def _cancel_dynamic(fake: FakeApiProcess, home: Path) -> float:
    declared = program_inputs(
        lambda: [ManagedInstance(f"llm-{n}", model_id=MODEL) for n in range(CANCELLED)]
    )
    provider = ProviderProcess(env=provider_env(home))
    try:
        provider.configure(fake.stack_config())
        news = [provider.check(inputs)[0] for inputs in declared.values()]
        return _cancelled_after(
            fake,
            lambda n: provider.create(news[n]),
            lambda: provider.stub.Cancel(empty_pb2.Empty()),
        )
    finally:
        provider.close()
        fake.reset()


def _cancelled_after(fake: FakeApiProcess, create: Any, cancel: Any) -> float:
    """Seconds from Cancel (a second into the creates) until every create returned."""
    with ThreadPoolExecutor(max_workers=CANCELLED) as pool:
        creating = [pool.submit(create, n) for n in range(CANCELLED)]
        while fake.state()["starts"] < CANCELLED:
            time.sleep(0.01)
        time.sleep(1.0)
        began = time.monotonic()
        cancel()
        for future in creating:
            future.result()
        return time.monotonic() - began


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as home:
        with start_fake_api("--step-seconds", "0.2") as fake:
            one, many = _parallel(fake, Path(home))
        with start_fake_api("--step-seconds", "2") as fake:
            native = _cancel_native(fake, Path(home))
            dynamic = _cancel_dynamic(fake, Path(home))
    name = "7. native plugin"
    return [
        Row(
            f"{name}, 64 creates",
            "64 in parallel / one create",
            many / one,
            None,
            "",
            "<= 1.5",
            many / one <= 1.5,
            note=f"one {one:.2f} s, 64 {many:.2f} s",
        ),
        Row(
            f"{name}, Cancel",
            f"{CANCELLED} waiting creates returned",
            native,
            dynamic,
            "s",
            "<= 1 s",
            native <= 1.0,
        ),
    ]
