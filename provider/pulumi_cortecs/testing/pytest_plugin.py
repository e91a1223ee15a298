"""pytest fixtures for the fake cortecs.ai API and the provider, shipped as a plugin (the
``pytest11`` entry point ``cortecs``), as respx ships ``respx_mock``; and ``cortecs_job``, an
instance for a user's evaluation suite: on a local fake unless ``--cortecs-real-api``.

Every fixture imports what it needs when it is first used, so a test session that uses none of
them pays nothing for this plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pulumi_cortecs import JobInstance
    from pulumi_cortecs.api import Client
    from pulumi_cortecs.testing import (
        FakeApiProcess,
        FakeBackend,
        ManualClock,
        ProviderProcess,
        S3Server,
    )

# Init steps of the HTTP fake: long enough to see every step, short enough for a fast suite.
STEP_SECONDS = 0.05
REAL_API_OPTION = "--cortecs-real-api"
JOB_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
"""``cortecs_job``'s model unless the ini option ``cortecs_job_model`` names another: one that
both cortecs.ai and the local fake serve."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cortecs", "cortecs.ai instances (pulumi-cortecs-instances)")
    group.addoption(
        REAL_API_OPTION,
        action="store_true",
        help="cortecs_job starts a real, billed instance on cortecs.ai (credentials from "
        "CORTECS_CLIENT_ID, CORTECS_CLIENT_SECRET and CORTECS_API_KEY) instead of one on a "
        "local fake of the API",
    )
    parser.addini("cortecs_job_model", "the model cortecs_job starts", default=JOB_MODEL)
    parser.addini("cortecs_job_hardware", "the hardware type of cortecs_job's instance")
    parser.addini(
        "cortecs_job_max_price_per_hour",
        "cortecs_job refuses to start an instance whose price per hour x workers is above it",
    )


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


@pytest.fixture
def cortecs_credentials() -> tuple[str, str]:
    """The client id and secret ``cortecs_client`` signs in with: the fake's demo ones.
    Override it (a fixture of the same name in a test module or conftest) to sign in with
    others, e.g. a canary secret to look for in messages."""
    from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    return DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


@pytest.fixture
def cortecs_client(
    cortecs_clock: ManualClock, cortecs_credentials: tuple[str, str]
) -> Iterator[Client]:
    """A :class:`~pulumi_cortecs.api.Client` of the default API URL (where ``cortecs_mock``
    answers, whatever ``CORTECS_API_BASE_URL`` says), signed in with ``cortecs_credentials``,
    that sleeps and times on ``cortecs_clock``: its retries and waits take no time."""
    from pulumi_cortecs.api import DEFAULT_API_BASE_URL, Client

    client_id, client_secret = cortecs_credentials
    with Client(
        client_id,
        client_secret,
        DEFAULT_API_BASE_URL,
        sleep=cortecs_clock.sleep,
        clock=cortecs_clock,
    ) as client:
        yield client


@pytest.fixture(scope="session")
def cortecs_api_process() -> Iterator[FakeApiProcess]:
    """``python -m pulumi_cortecs.testing.fake`` in its own process, for the whole session."""
    from pulumi_cortecs.testing import start_fake_api

    with start_fake_api("--step-seconds", str(STEP_SECONDS)) as fake:
        yield fake


@pytest.fixture
def cortecs_api(cortecs_api_process: FakeApiProcess) -> FakeApiProcess:
    """The session's fake API over HTTP, emptied and with its default settings."""
    from pulumi_cortecs.testing.fake._settings import defaults

    cortecs_api_process.reset()
    cortecs_api_process.configure(**{**defaults(), "step_seconds": STEP_SECONDS})
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
    for variable, value in cortecs_s3_server.aws_environment().items():
        monkeypatch.setenv(variable, value)
    yield cortecs_s3_server
    cortecs_s3_server.denied = False
    cortecs_s3_server.writes_denied = False
    cortecs_s3_server.refuse_writes(0)


@pytest.fixture
def cortecs_s3_journal(cortecs_s3: S3Server) -> str:
    """A journal URL, ``s3://BUCKET/journal``, in a new, empty bucket of ``cortecs_s3``."""
    return cortecs_s3.new_journal()


@pytest.fixture(scope="session")
def cortecs_job(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JobInstance]:
    """One instance for the session's tests (per pytest-xdist worker), ready once it answers:
    ``base_url``, ``model_name``, ``chat_model`` (LangChain) and ``environment()``. It is
    stopped and deleted after the last test, failed tests included.

    On a local fake of the API (its instances echo the prompt back) unless
    ``--cortecs-real-api`` selects cortecs.ai. The ini options ``cortecs_job_model``,
    ``cortecs_job_hardware`` and ``cortecs_job_max_price_per_hour`` choose the instance.
    """
    from pulumi_cortecs import job_instance

    hardware = pytestconfig.getini("cortecs_job_hardware") or None
    price = pytestconfig.getini("cortecs_job_max_price_per_hour")
    model = pytestconfig.getini("cortecs_job_model")
    max_price = float(price) if price else None
    if pytestconfig.getoption(REAL_API_OPTION):
        with job_instance(model, hardware_type_id=hardware, max_price_per_hour=max_price) as job:
            yield job
        return
    from pulumi_cortecs import Client
    from pulumi_cortecs.testing import (
        DEMO_API_KEY,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        FakeBackend,
        FakeServer,
    )

    with (
        FakeServer(FakeBackend(step_seconds=STEP_SECONDS)) as server,
        Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, server.api_base_url) as client,
        job_instance(
            model,
            hardware_type_id=hardware,
            max_price_per_hour=max_price,
            client=client,
            api_key=DEMO_API_KEY,
            journal=tmp_path_factory.mktemp("cortecs-journal"),
        ) as job,
    ):
        yield job
