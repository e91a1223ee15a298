"""An API that glitches, through the engine's protocol against the fake API over HTTP: only a
confirmed state ends a create; the cleanup of a failed create says nothing is billed only once it
saw the instance stopped or deleted; a fresh endpoint's first errors are "not yet"; a token
endpoint's 500 is the API's failure; an update that finds its instance pending waits like a
create."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pulumi_cortecs import Client
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.engine import Deployment, ProviderProcess, declare
from pulumi_cortecs.testing.processes import FakeApiProcess, journaled_instances

from tests import LLAMA

pytestmark = pytest.mark.engine

STATUS_GET = {"path": "/instances/*", "method": "GET"}  # a status request, not the list
REFUSED_PROBE = {"api_key": "a-key-the-provider-does-not-have"}


def up(engine: ProviderProcess, **inputs: Any) -> Deployment:
    stack = Deployment(engine)
    stack.up({"chat": declare(model_id=LLAMA, **inputs)})
    return stack


def failed_create(engine: ProviderProcess) -> str:
    """The message of a create that fails (its probe is refused)."""
    with pytest.raises(Exception) as failed:
        up(engine)
    return str(failed.value)


@pytest.mark.parametrize("kind", ["html_body", "empty_body", "null_status"])
def test_a_malformed_answer_to_a_status_poll_mid_boot_does_not_fail_the_create(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess, kind: str
) -> None:
    cortecs_api.configure(step_seconds=0.5)  # the first poll, after a second, is mid-boot
    stack = Deployment(cortecs_engine)
    program = {"chat": declare(model_id=LLAMA)}  # declared here: a program runs on this thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        deployed = pool.submit(stack.up, program)
        while not cortecs_api.state()["starts"]:
            time.sleep(0.01)
        # The poll's list glitches, and so does the instance's own answer the wait falls back on.
        cortecs_api.faults(inject={"kind": kind, "path": "/instances", "method": "GET"})
        cortecs_api.faults(inject={"kind": kind, **STATUS_GET})
        deployed.result()
    assert stack.state["chat"].outputs["status"] == "running"
    state = cortecs_api.state()
    assert state["faults_injected"] == {kind: 2}
    assert state["starts"] == 1 and len(state["instances"]) == 1


@pytest.mark.parametrize("times", [1, 2], ids=["one 404", "two 404s"])
def test_404s_on_the_status_get_just_after_the_start_then_found(
    cortecs_engine: ProviderProcess,
    cortecs_api: FakeApiProcess,
    cortecs_home: Path,
    times: int,
) -> None:
    cortecs_api.faults(inject={"kind": "not_found", "times": times, **STATUS_GET})
    stack = up(cortecs_engine)
    instance_id = stack.state["chat"].id
    assert stack.state["chat"].outputs["status"] == "running"
    assert [i["instance_id"] for i in cortecs_api.instances()] == [instance_id]
    assert cortecs_api.state()["starts"] == 1
    assert instance_id not in journaled_instances(cortecs_home), (
        "the engine has it: no record is left"
    )


def test_a_fresh_endpoints_404_and_503_on_the_first_probes_mean_not_yet(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    cortecs_api.configure(ingress_errors=[404, 503])
    stack = up(cortecs_engine)
    instance_id = stack.state["chat"].id
    assert cortecs_engine.logged(f"{instance_id}: answered a chat completion (attempt 3)")


def test_a_token_endpoint_answering_500_is_a_server_error_not_bad_credentials(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    # Every attempt the provider makes (7), at once: the server's Retry-After says 0.
    cortecs_api.faults(
        fail_next={"status": 500, "times": 7, "path": "/oauth2/token", "retry_after": 0}
    )
    _, failures = cortecs_engine.check(declare(model_id=LLAMA))
    [(_, reason)] = failures
    assert reason.startswith("the API failed while cortecs:clientId and cortecs:clientSecret")
    assert "HTTP 500" in reason and "could not be used" not in reason
    assert cortecs_api.state()["starts"] == 0


def test_an_update_that_finds_the_instance_pending_waits_and_probes_like_a_create(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess
) -> None:
    stack = up(cortecs_engine)
    instance_id = stack.state["chat"].id
    # Someone stops and restarts it; it boots for 2.5 s, and the next up finds it pending.
    cortecs_api.stop_instance(instance_id)
    cortecs_api.configure(step_seconds=0.5)
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        assert client.restart(instance_id).status == "pending"
    changed = declare(model_id=LLAMA, chat_openai_kwargs={"temperature": 0})
    assert stack.up({"chat": changed}) == {"chat": "update"}
    outputs = stack.state["chat"].outputs
    assert outputs["status"] == "running" and outputs["base_url"]
    assert outputs["chat_openai_args"]["base_url"] == outputs["base_url"]
    assert cortecs_engine.logged(f"{instance_id}: answered a chat completion", times=2)


def test_a_cleanup_that_gets_404s_stops_and_deletes_the_instance_the_list_still_shows(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    # Every status GET answers 404 (an API that lags for good), yet the instance runs: it
    # is stopped and deleted, not taken for gone.
    cortecs_api.configure(**REFUSED_PROBE)
    cortecs_api.faults(inject={"kind": "not_found", "times": 1000, **STATUS_GET})
    message = failed_create(cortecs_engine)
    assert "refused with HTTP 401" in message
    assert "It was stopped and deleted, so nothing is billed." in message
    state = cortecs_api.state()
    assert state["instances"] == [] and len(state["deleted_ids"]) == 1
    assert state["deleted_ids"][0] not in journaled_instances(cortecs_home)


def test_a_cleanup_that_never_sees_the_instance_stopped_says_it_may_still_be_billing(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    cortecs_api.configure(**REFUSED_PROBE)
    cortecs_api.faults(
        fail_next={"status": 500, "times": 7, "path": "/instances/stop", "retry_after": 0}
    )
    message = failed_create(cortecs_engine)
    [instance] = cortecs_api.instances()
    instance_id = instance["instance_id"]
    assert instance["status"] == "running"
    assert "nothing is billed" not in message
    assert "It may still be billing: it was not seen stopped (POST /instances/stop" in message
    assert f"`cortecs-instances delete {instance_id}` stops and deletes it" in message
    assert instance_id in journaled_instances(cortecs_home), "the next up adopts it"


def test_a_deletion_answered_404_is_not_taken_for_one_while_the_instance_stays(
    cortecs_engine: ProviderProcess, cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    cortecs_api.configure(**REFUSED_PROBE)
    cortecs_api.faults(inject={"kind": "not_found", "path": "/instances/*", "method": "DELETE"})
    message = failed_create(cortecs_engine)
    [instance] = cortecs_api.instances()
    assert instance["status"] == "stopped"
    assert "It was stopped, so nothing is billed, but not deleted (the API answered" in message
    assert instance["instance_id"] in journaled_instances(cortecs_home)
