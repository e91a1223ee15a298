"""Sixteen resources created at once by one provider process, and the shared token under a
stampede of threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pulumi_cortecs import Client, ManagedInstance
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.engine import ProviderProcess, program_inputs
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env

from tests import LLAMA

RESOURCES = 16


@pytest.mark.engine
def test_sixteen_creates_at_once_each_start_once_and_share_one_token(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    # Identical arguments on purpose: no create may adopt another's booting instance.
    declared = program_inputs(
        lambda: [ManagedInstance(f"llm-{n}", model_id=LLAMA) for n in range(RESOURCES)]
    )
    preview = ProviderProcess(env=provider_env(cortecs_home))
    try:
        preview.configure(cortecs_api.stack_config())
        checked = [preview.check(inputs)[0] for inputs in declared.values()]
    finally:
        preview.close()
    cortecs_api.reset()  # count only what the up does
    cortecs_api.configure(step_seconds=0.6)  # 3 s to boot: long enough for all to overlap

    up = ProviderProcess(env=provider_env(cortecs_home))
    most_pending = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal most_pending
        while not done.is_set():
            pending = [i for i in cortecs_api.instances() if i["status"] == "pending"]
            most_pending = max(most_pending, len(pending))
            done.wait(0.02)

    watcher = threading.Thread(target=watch)
    try:
        up.configure(cortecs_api.stack_config())
        watcher.start()
        with ThreadPoolExecutor(max_workers=RESOURCES) as pool:
            created: list[tuple[str, dict[str, Any]]] = list(pool.map(up.create, checked))
    finally:
        done.set()
        watcher.join()
        up.close()

    ids = {instance_id for instance_id, _ in created}
    state = cortecs_api.state()
    assert len(ids) == RESOURCES
    assert state["starts"] == RESOURCES
    assert {i["instance_id"] for i in state["instances"]} == ids
    assert all(outputs["status"] == "running" for _, outputs in created)
    assert state["token_fetches"] == 1
    # Four at a time (the SDK server's own pool) would never have more than four booting.
    assert most_pending == RESOURCES


def test_threads_share_one_token_and_one_renewal() -> None:
    backend = FakeBackend()
    with (
        FakeServer(backend) as server,
        Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, server.api_base_url) as client,
    ):

        def stampede() -> None:
            start = threading.Barrier(RESOURCES)

            def call(_: int) -> None:
                start.wait()
                client.list_instances()

            with ThreadPoolExecutor(max_workers=RESOURCES) as pool:
                list(pool.map(call, range(RESOURCES)))

        stampede()
        assert backend.token_fetches == 1
        backend.expire_tokens()  # every thread's next call is refused with 401
        stampede()
        assert backend.token_fetches == 2
        assert [path for _, path in backend.calls].count("/api/v1/instances") >= 2 * RESOURCES
