"""Red team: a journal in S3 whose bucket stops accepting writes while a stack is deployed
(a bucket policy tightened, credentials rotated to read-only). Two runners, the HTTP fake,
moto's server over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from pulumi_cortecs.testing import FakeApiProcess
from pulumi_cortecs.testing.engine import PROJECT
from pulumi_cortecs.testing.s3 import S3Server

from tests import LLAMA
from tests.test_ownership import Stack, assert_each_instance_owned_once, stacks

__all__ = ["stacks"]  # the fixture, shared with test_ownership

pytestmark = pytest.mark.engine


def assert_names_the_journal_and_no_credential(details: str, url: str, document: str) -> None:
    assert f"the journal {url}/{document} cannot be" in details
    assert "cortecs-test-secret" not in details
    assert "cortecs-test" not in details.replace(url, "")


def test_writes_denied_mid_run_start_nothing_more_and_leave_nothing_unknown(
    cortecs_api: FakeApiProcess,
    stacks: Callable[..., Stack],
    cortecs_s3: S3Server,
    cortecs_s3_journal: str,
) -> None:
    runner_1 = stacks("a", journal_url=cortecs_s3_journal)
    runner_2 = stacks("b", journal_url=cortecs_s3_journal)
    chat = runner_1.declare(model_id=LLAMA)
    runner_1.up(chat=chat)
    runner_2.up(chat=runner_2.declare(model_id=LLAMA))

    cortecs_s3.writes_denied = True
    with pytest.raises(grpc.RpcError) as failed:
        runner_1.up(chat=chat, second=runner_1.declare("second", model_id=LLAMA))
    details = str(failed.value.details())
    assert_names_the_journal_and_no_credential(details, cortecs_s3_journal, f"{PROJECT}.a.json")
    assert "nothing was started" in details
    assert cortecs_api.state()["starts"] == 2

    held = runner_2.held()
    with pytest.raises(grpc.RpcError) as failed:
        runner_2.deployment.destroy()
    assert_names_the_journal_and_no_credential(
        str(failed.value.details()), cortecs_s3_journal, f"leases/{held[0]}.json"
    )
    # The instance was deleted before its lease could not be: nothing bills, and the retry
    # below finds it gone.
    assert [i["instance_id"] for i in cortecs_api.instances()] == runner_1.held()
    assert_each_instance_owned_once(cortecs_api, runner_1, runner_2)

    cortecs_s3.writes_denied = False
    runner_2.deployment.destroy()
    runner_1.deployment.destroy()
    assert cortecs_api.instances() == []
