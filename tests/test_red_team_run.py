"""Red team: ``cortecs-instances run`` as a CI job would use it, with the journal in S3 that the
team's runners share and canary credentials: a journal that cannot be written starts nothing
and says where it is, and no credential appears in anything ``run`` says or writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi_cortecs.testing import FakeApiProcess
from pulumi_cortecs.testing.s3 import S3Server

from tests import LLAMA
from tests.test_cli_run import python, start_run

pytestmark = pytest.mark.slow

CLIENT_SECRET = "canary-client-secret-run-4be1"
API_KEY = "canary-api-key-run-90d2"


def test_run_with_an_s3_journal_that_denies_writes_starts_nothing_and_names_it(
    cortecs_api: FakeApiProcess, cortecs_s3: S3Server, cortecs_s3_journal: str, tmp_path: Path
) -> None:
    cortecs_api.configure(client_secret=CLIENT_SECRET, api_key=API_KEY)
    cortecs_s3.writes_denied = True
    process = start_run(
        cortecs_api,
        tmp_path / "unused",
        LLAMA,
        *python("raise SystemExit(0)"),
        CORTECS_JOURNAL_URL=cortecs_s3_journal,
        CORTECS_CLIENT_SECRET=CLIENT_SECRET,
        CORTECS_API_KEY=API_KEY,
    )
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    assert f"{cortecs_s3_journal}/" in stderr and "cannot be written" in stderr, stderr
    assert cortecs_api.state()["starts"] == 0
    said = stdout + stderr
    for secret in (CLIENT_SECRET, API_KEY, "cortecs-test-secret"):
        assert secret not in said
    assert "Traceback" not in said


def test_run_leaves_no_credential_in_the_journal_or_its_lease(
    cortecs_api: FakeApiProcess, cortecs_s3: S3Server, cortecs_s3_journal: str, tmp_path: Path
) -> None:
    import boto3

    cortecs_api.configure(client_secret=CLIENT_SECRET, api_key=API_KEY)
    process = start_run(
        cortecs_api,
        tmp_path / "unused",
        LLAMA,
        "--keep",
        *python("raise SystemExit(3)"),
        CORTECS_JOURNAL_URL=cortecs_s3_journal,
        CORTECS_CLIENT_SECRET=CLIENT_SECRET,
        CORTECS_API_KEY=API_KEY,
    )
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, stderr
    bucket = cortecs_s3_journal.removeprefix("s3://").split("/")[0]
    s3 = boto3.session.Session(**_session(cortecs_s3)).client(
        "s3", endpoint_url=cortecs_s3.endpoint
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    documents = [s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() for key in keys]
    assert any(key.startswith("journal/leases/") for key in keys), keys
    for text in [stdout, stderr, *documents]:
        for secret in (CLIENT_SECRET, API_KEY):
            assert secret not in text


def _session(server: S3Server) -> dict[str, str]:
    environment = server.aws_environment()
    return {
        "aws_access_key_id": environment["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": environment["AWS_SECRET_ACCESS_KEY"],
        "region_name": environment["AWS_DEFAULT_REGION"],
    }
