"""Red team: credentials put where an S3 journal's settings go. An endpoint such as a MinIO
behind a proxy is sometimes given as ``http://user:password@host``, and a journal URL as
``s3://KEY:SECRET@bucket``: no message may repeat the password or the secret."""

from __future__ import annotations

import pytest
from pulumi_cortecs._exceptions import JournalError
from pulumi_cortecs._store import open_store

from tests import unused_port

PASSWORD = "canary-endpoint-password-3c1e"


def test_an_unreachable_endpoint_with_a_password_is_named_without_it(
    cortecs_s3_journal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = unused_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://minio:{PASSWORD}@127.0.0.1:{port}")
    with pytest.raises(JournalError, match=rf"cannot be reached at http://127\.0\.0\.1:{port}/"):
        open_store(cortecs_s3_journal).get("a.json")


def test_a_journal_url_with_credentials_is_refused_without_repeating_them() -> None:
    with pytest.raises(JournalError) as refused:
        open_store(f"s3://AKIAEXAMPLE:{PASSWORD}@bucket/journal")
    message = str(refused.value)
    assert PASSWORD not in message and "AKIAEXAMPLE" not in message
    assert "AWS_ACCESS_KEY_ID" in message
