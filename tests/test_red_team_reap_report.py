"""Red team: ``reap --json`` from a cron that keeps its report. When one lease cannot be acted
on, the report of what the others did (instances stopped or deleted, what they cost) must still
reach stdout, the failure on stderr and in the exit status (in-process CLI, in-process fake)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi_cortecs._leases import DELETE
from pulumi_cortecs.testing import FakeBackend

from tests.test_cli_spend import (
    OWNER,
    cortecs_clock,
    credentials,
    instant_client,
    journal,
    lease,
    run,
    running,
)

__all__ = ["cortecs_clock", "credentials", "journal"]  # fixtures shared with test_cli_spend


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
def test_a_failed_lease_does_not_hide_what_reap_did_with_the_others(
    cortecs_mock: FakeBackend, journal: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    stopped, failing = running(cortecs_mock), running(cortecs_mock)
    lease(journal, stopped, expires_in=-1)
    lease(journal, failing, expires_in=-1, action=DELETE)
    # Reap acts on both at once: only a path of the one instance fails it alone.
    cortecs_mock.faults.fail_next(500, times=5, path=f"/instances/{failing}", method="DELETE")
    flags = ["--json"] if as_json else []
    code, out, err = run(
        capsys, "reap", *flags, "--journal-dir", str(journal), client_factory=instant_client
    )
    assert code == 1
    assert f"error: reap could not act on {failing}" in err
    if as_json:
        rows = {row["instance_id"]: row for row in json.loads(out)["reaped"]}
        assert (rows[stopped]["outcome"], rows[stopped]["owner"]) == ("stopped", OWNER)
        assert rows[failing]["outcome"] == "failed"
    else:
        assert stopped in out and failing in out
