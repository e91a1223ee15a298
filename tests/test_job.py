"""`job_instance`, the Python side of `run`, and the `cortecs_job` fixture for users' suites."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi_cortecs import Client, JobRefused, job_instance
from pulumi_cortecs._leases import DELETE, Leases
from pulumi_cortecs._store import open_store
from pulumi_cortecs.testing import (
    DEMO_API_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FakeApiProcess,
    without_credentials,
)

from tests import LLAMA, PROJECT_ROOT


@pytest.fixture
def client(cortecs_api: FakeApiProcess) -> Iterator[Client]:
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        yield client


def test_the_block_gets_a_ready_instance_that_is_deleted_after_it(
    cortecs_api: FakeApiProcess, client: Client, tmp_path: Path
) -> None:
    with job_instance(
        LLAMA, client=client, api_key=DEMO_API_KEY, journal=tmp_path, auto_stop_after="30m"
    ) as job:
        assert job.base_url == job.instance.base_url and job.model_name == LLAMA
        answer = job.chat_model.invoke("Hello there").text
        assert answer == f"{LLAMA} echoes: Hello there"
        assert job.environment()["CORTECS_INSTANCE_ID"] == job.instance_id
        assert DEMO_API_KEY not in repr(job)
        lease = Leases(open_store(str(tmp_path))).get(job.instance_id)
        assert lease is not None and lease.action == DELETE
        assert 29 * 60 < lease.expires_at - Leases(open_store(str(tmp_path))).now() <= 30 * 60
        assert lease.owner.startswith("run:python/")
    assert cortecs_api.instances() == []
    assert Leases(open_store(str(tmp_path))).all() == []


def test_an_error_in_the_block_deletes_the_instance_and_goes_on(
    cortecs_api: FakeApiProcess, client: Client, tmp_path: Path
) -> None:
    with (
        pytest.raises(RuntimeError, match="the evaluation failed"),
        job_instance(LLAMA, client=client, api_key=DEMO_API_KEY, journal=tmp_path),
    ):
        assert len(cortecs_api.instances()) == 1
        raise RuntimeError("the evaluation failed")
    assert cortecs_api.instances() == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_price_per_hour": 0.5}, "max_price_per_hour"),
        ({"context_length": 999_999}, "context_length"),
        ({"auto_stop_after": "soon"}, "auto_stop_after"),
        ({"wait_timeout": "0s"}, "wait_timeout"),
    ],
)
def test_what_a_preview_refuses_starts_nothing(
    cortecs_api: FakeApiProcess,
    client: Client,
    tmp_path: Path,
    options: dict[str, object],
    field: str,
) -> None:
    with (
        pytest.raises(JobRefused) as refused,
        job_instance(LLAMA, client=client, api_key=DEMO_API_KEY, journal=tmp_path, **options),  # type: ignore[arg-type]
    ):
        pytest.fail("the block ran")
    assert [failure.property for failure in refused.value.failures] == [field]
    assert cortecs_api.state()["starts"] == 0


def test_keep_leaves_the_instance_running_under_its_delete_lease(
    cortecs_api: FakeApiProcess, client: Client, tmp_path: Path
) -> None:
    with job_instance(
        LLAMA, client=client, api_key=DEMO_API_KEY, journal=tmp_path, keep=True
    ) as job:
        pass
    (instance,) = cortecs_api.instances()
    assert instance["instance_id"] == job.instance_id and instance["status"] == "running"
    lease = Leases(open_store(str(tmp_path))).get(job.instance_id)
    assert lease is not None and lease.action == DELETE


SUITE = textwrap.dedent(
    """
    def test_the_model_answers(cortecs_job):
        assert "echoes: 2+2?" in cortecs_job.chat_model.invoke("2+2?").text

    def test_a_failing_test_still_gets_the_instance_deleted(cortecs_job):
        assert cortecs_job.environment()["OPENAI_MODEL"] == "nothing"
    """
)


def test_the_cortecs_job_fixture_uses_a_local_fake_by_default(tmp_path: Path) -> None:
    (tmp_path / "test_eval.py").write_text(SUITE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_eval.py"],
        cwd=tmp_path,
        env=without_credentials(PYTHONPATH=str(PROJECT_ROOT / "provider")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    # -s: what the fixture says after the last test reaches stderr.
    assert "deleted instance-1" in done.stderr
