"""Shared fixtures: the fake API served over HTTP, and provider processes configured against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi_cortecs.testing.engine import ProviderProcess
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env, start_fake_api


@pytest.fixture(scope="session")
def fake_api_process() -> Iterator[FakeApiProcess]:
    with start_fake_api("--step-seconds", "0.05") as fake:
        yield fake


@pytest.fixture
def fake_api(fake_api_process: FakeApiProcess) -> FakeApiProcess:
    """The session's fake API, emptied and with its default timing."""
    fake_api_process.reset()
    fake_api_process.configure(step_seconds=0.05, serving_delay=0.0, api_key="demo-api-key")
    return fake_api_process


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "unfinished-creates.json"


@pytest.fixture
def engine(fake_api: FakeApiProcess, journal_path: Path) -> Iterator[ProviderProcess]:
    """A dynamic-provider server configured with the stack config of a dev stack."""
    provider = ProviderProcess(env=provider_env(journal_path))
    provider.configure(fake_api.stack_config())
    yield provider
    provider.close()
