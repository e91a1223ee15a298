"""pytest fixtures for the fake cortecs.ai API and the provider, shipped as a plugin (the
``pytest11`` entry point ``cortecs``), as respx ships ``respx_mock``.

Every fixture imports what it needs when it is first used, so a test session that uses none of
them pays nothing for this plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pulumi_cortecs.testing import (
        FakeApiProcess,
        FakeBackend,
        ManualClock,
        ProviderProcess,
        S3Server,
    )

# Init steps of the HTTP fake: long enough to see every step, short enough for a fast suite.
STEP_SECONDS = 0.05


@pytest.fixture
def cortecs_clock() -> ManualClock:
    """A clock that moves only when slept on or advanced: a fake's clock, and a client's clock
    and sleep, so that waiting takes no time."""
    from pulumi_cortecs.testing import ManualClock

    return ManualClock()


@pytest.fixture
def cortecs_mock(cortecs_clock: ManualClock) -> Iterator[FakeBackend]:
    """The fake API in-process (through respx): httpx requests to ``https://cortecs.ai`` reach
    a fresh backend that runs on ``cortecs_clock``."""
    from pulumi_cortecs.testing import FakeBackend, mock_api

    with mock_api(FakeBackend(clock=cortecs_clock)) as backend:
        yield backend


@pytest.fixture(scope="session")
def cortecs_api_process() -> Iterator[FakeApiProcess]:
    """``python -m pulumi_cortecs.testing.fake`` in its own process, for the whole session."""
    from pulumi_cortecs.testing import start_fake_api

    with start_fake_api("--step-seconds", str(STEP_SECONDS)) as fake:
        yield fake


@pytest.fixture
def cortecs_api(cortecs_api_process: FakeApiProcess) -> FakeApiProcess:
    """The session's fake API over HTTP, emptied and with its default settings."""
    from pulumi_cortecs.testing import DEMO_API_KEY

    cortecs_api_process.reset()
    cortecs_api_process.configure(
        step_seconds=STEP_SECONDS,
        num_steps=5,
        running_at="end",
        instant_models=False,
        serving_delay=0.0,
        ingress_errors=[],
        api_era="today",
        response_shape="newer",
        api_key=DEMO_API_KEY,
    )
    return cortecs_api_process


@pytest.fixture
def cortecs_home(tmp_path: Path) -> Path:
    """The home directory of the user the provider processes of a test run as (their journal
    of unfinished creates lives under it)."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def cortecs_engine(cortecs_api: FakeApiProcess, cortecs_home: Path) -> Iterator[ProviderProcess]:
    """A dynamic-provider server, configured with a dev stack's config against ``cortecs_api``."""
    from pulumi_cortecs.testing import ProviderProcess, provider_env

    provider = ProviderProcess(env=provider_env(cortecs_home))
    provider.configure(cortecs_api.stack_config())
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def cortecs_s3_server() -> Iterator[S3Server]:
    """moto's S3 over HTTP on 127.0.0.1 (:class:`~pulumi_cortecs.testing.S3Server`), for the
    whole session."""
    from pulumi_cortecs.testing import S3Server

    with S3Server() as server:
        yield server


@pytest.fixture
def cortecs_s3(cortecs_s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """The session's S3 server without faults, and this process's AWS environment (inherited
    by the provider processes it starts) set to reach it with made-up credentials."""
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", cortecs_s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "cortecs-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cortecs-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield cortecs_s3_server
    cortecs_s3_server.denied = False
    cortecs_s3_server.refuse_writes(0)


@pytest.fixture
def cortecs_s3_journal(cortecs_s3: S3Server) -> str:
    """A journal URL, ``s3://BUCKET/journal``, in a new, empty bucket of ``cortecs_s3``."""
    import uuid

    import boto3

    bucket = f"cortecs-{uuid.uuid4().hex[:16]}"
    boto3.session.Session().client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/journal"
