"""The native provider plugin (``provider/``) as the Pulumi engine drives it: spawned the way
the Python language host runs a plugin directory, then the calls of a deployment over gRPC
(customTimeouts, Cancel and import included), against the fake API over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime.proto import provider_pb2
from pulumi_cortecs import Client, InstanceArgs, __version__
from pulumi_cortecs._schema import INPUTS, OUTPUTS
from pulumi_cortecs.native import INSTANCE, package_schema
from pulumi_cortecs.resource._inputs import UNKNOWN
from pulumi_cortecs.testing import (
    DEMO_API_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FakeApiProcess,
    journaled_instances,
    provider_env,
)
from pulumi_cortecs.testing.plugin import InitFailed, PluginProcess, secret_keys, struct, urn

from tests import LLAMA, PROJECT_ROOT, wait_for

pytestmark = pytest.mark.engine

PLUGIN = PROJECT_ROOT / "provider"
METASCHEMA = PROJECT_ROOT.parent / "shared" / "pulumi" / "package-metaschema.json"
SECRET_CONFIG = {"clientSecret", "apiKey"}


def config(api: FakeApiProcess) -> dict[str, Any]:
    return {
        "clientId": DEMO_CLIENT_ID,
        "clientSecret": DEMO_CLIENT_SECRET,
        "apiKey": DEMO_API_KEY,
        "apiBaseUrl": api.api_base_url,
    }


@pytest.fixture
def plugin(
    cortecs_api: FakeApiProcess, cortecs_home: Path, tmp_path: Path
) -> Iterator[PluginProcess]:
    process = PluginProcess(PLUGIN, env=provider_env(cortecs_home), cwd=tmp_path)
    process.configure(config(cortecs_api), secret=SECRET_CONFIG)
    yield process
    process.close()


def checked(plugin: PluginProcess, name: str = "chat", **inputs: Any) -> dict[str, Any]:
    news, failures = plugin.check(name, {"modelId": LLAMA, **inputs})
    assert failures == []
    return news


def test_the_plugin_introduces_itself_with_the_schema_generated_from_the_property_schema(
    plugin: PluginProcess,
) -> None:
    assert plugin.plugin_version() == __version__
    schema = plugin.schema()
    assert schema == package_schema()
    resource = schema["resources"][INSTANCE]
    assert resource["requiredInputs"] == ["modelId"]
    replacing = {
        n for n, spec in resource["inputProperties"].items() if spec.get("replaceOnChanges")
    }
    assert replacing == {
        "modelId",
        "hardwareTypeId",
        "contextLength",
        "billingInterval",
        "numWorkers",
    }
    assert "owner" not in resource["inputProperties"], "the engine's URN names the owner"
    variables = schema["config"]["variables"]
    assert variables["clientSecret"]["secret"] and variables["apiKey"]["secret"]
    assert variables["clientId"]["defaultInfo"] == {"environment": ["CORTECS_CLIENT_ID"]}


@pytest.mark.skipif(
    not METASCHEMA.exists(), reason="../shared/pulumi/package-metaschema.json absent"
)
def test_the_schema_is_valid_against_pulumis_package_metaschema() -> None:
    import jsonschema

    metaschema = json.loads(METASCHEMA.read_text())
    # Its patterns use ECMAScript's (?<name>...) groups; Python's re spells them (?P<name>...).
    text = re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", json.dumps(metaschema))
    validator_class = jsonschema.validators.validator_for(metaschema)
    validator = validator_class(json.loads(text))
    errors = sorted(validator.iter_errors(package_schema()), key=str)
    assert [error.message for error in errors] == []


def test_check_names_properties_as_the_schema_does(plugin: PluginProcess) -> None:
    _, failures = plugin.check("chat", {"modelId": LLAMA, "contextLength": 999999.0})
    [(prop, reason)] = failures
    assert prop == "contextLength" and "16000" in reason
    _, failures = plugin.check("chat", {"modelId": LLAMA, "numWorkers": 9.0})
    assert [prop for prop, _ in failures] == ["numWorkers"]


def test_preview_shows_the_price_and_leaves_the_rest_unknown(
    plugin: PluginProcess, cortecs_api: FakeApiProcess
) -> None:
    instance_id, outputs = plugin.create("chat", checked(plugin), preview=True)
    assert instance_id == ""
    assert outputs["pricePerHour"] > 0 and outputs["currency"] == "EUR"
    assert outputs["baseUrl"] == outputs["instanceId"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert cortecs_api.state()["starts"] == 0


def test_a_whole_lifecycle(plugin: PluginProcess, cortecs_api: FakeApiProcess) -> None:
    news = checked(plugin, contextLength=8000.0)
    instance_id, outputs = plugin.create("chat", news, timeout=60)
    assert outputs["status"] == "running" and outputs["instanceId"] == instance_id
    assert outputs["chatOpenaiArgs"] == {"model_name": LLAMA, "base_url": outputs["baseUrl"]}
    assert plugin.diff("chat", instance_id, outputs, news).changes == (
        provider_pb2.DiffResponse.DIFF_NONE
    )
    paused = checked(plugin, contextLength=8000.0, running=False)
    diff = plugin.diff("chat", instance_id, outputs, paused)
    assert (diff.changes, list(diff.replaces)) == (provider_pb2.DiffResponse.DIFF_SOME, [])
    assert plugin.update("chat", instance_id, outputs, paused)["status"] == "stopped"
    replaced = plugin.diff("chat", instance_id, outputs, checked(plugin, contextLength=12000.0))
    assert list(replaced.replaces) == ["contextLength"]
    refreshed_id, refreshed, _ = plugin.read("chat", instance_id, outputs, news)
    assert (refreshed_id, refreshed["status"]) == (instance_id, "stopped")
    plugin.delete("chat", instance_id, refreshed)
    assert cortecs_api.instances() == []
    gone_id, _, _ = plugin.read("chat", instance_id, refreshed, news)
    assert gone_id == "", "refresh drops an instance that no longer exists"


@pytest.mark.parametrize("running", [False, True])
def test_a_previewed_update_stops_or_restarts_nothing(
    plugin: PluginProcess, cortecs_api: FakeApiProcess, running: bool
) -> None:
    instance_id, outputs = plugin.create("chat", checked(plugin, running=not running), timeout=60)
    status = outputs["status"]
    calls = len(cortecs_api.state()["calls"])
    planned = plugin.update(
        "chat", instance_id, outputs, checked(plugin, running=running), preview=True
    )
    assert cortecs_api.state()["calls"][calls:] == [], "a preview touches nothing"
    assert [i["status"] for i in cortecs_api.instances()] == [status]
    assert planned["running"] is running
    assert planned["status"] == planned["baseUrl"] == UNKNOWN, "known once it is applied"
    assert (
        planned["instanceId"] == instance_id and planned["pricePerHour"] == outputs["pricePerHour"]
    )
    kwargs = checked(plugin, running=not running, chatOpenaiKwargs={"temperature": 0.2})
    planned = plugin.update("chat", instance_id, outputs, kwargs, preview=True)
    assert planned["status"] == status and planned["chatOpenaiArgs"] == UNKNOWN


def test_a_create_the_engine_gave_up_on_stays_in_the_journal(
    plugin: PluginProcess, cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    cortecs_api.configure(step_seconds=0.3)
    request = provider_pb2.CreateRequest(
        urn=urn("chat"), type=INSTANCE, properties=struct(checked(plugin)), timeout=60
    )
    answer = plugin.stub.Create.future(request)
    wait_for(lambda: cortecs_api.state()["starts"] == 1)
    answer.cancel()  # what the engine's own end of the call does when it quits
    [instance] = cortecs_api.instances()
    wait_for(lambda: cortecs_api.instances()[0]["status"] == "running")
    assert plugin.logged(f"{instance['instance_id']}: ready in")
    assert journaled_instances(cortecs_home) == {instance["instance_id"]}, (
        "nobody got its id: the journal keeps it for `orphans` and the next up"
    )


def test_import_rebuilds_inputs_and_state_so_the_next_preview_shows_no_diff(
    plugin: PluginProcess, cortecs_api: FakeApiProcess
) -> None:
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        instance_id = client.start(InstanceArgs(model_id=LLAMA, context_length=8000)).instance_id
        client.wait_until_running(instance_id)
    imported_id, outputs, inputs = plugin.read("llm", instance_id)  # what `pulumi import` sends
    assert imported_id == instance_id and outputs["status"] == "running"
    assert inputs["modelId"] == "meta-llama--Meta-Llama-3.1-8B-Instruct"
    declared = checked(plugin, "llm", contextLength=8000.0)
    diff = plugin.diff("llm", instance_id, outputs, declared)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    with pytest.raises(Exception, match="instance-404"):
        plugin.read("llm", "instance-404")


def test_a_custom_timeout_reports_the_started_instance_as_partial_state(
    plugin: PluginProcess, cortecs_api: FakeApiProcess
) -> None:
    cortecs_api.configure(step_seconds=0.6)  # 3 s to boot: the engine allows 0.5 s
    with pytest.raises(InitFailed) as failed:
        plugin.create("chat", checked(plugin), timeout=0.5)
    partial = failed.value
    assert partial.id.startswith("instance-") and partial.properties["status"] == "pending"
    assert partial.inputs["modelId"] == "meta-llama--Meta-Llama-3.1-8B-Instruct"
    assert "was not running after" in partial.message and "It is kept" in partial.message
    assert [i["instance_id"] for i in cortecs_api.instances()] == [partial.id], "kept, not deleted"
    # The next `up` updates a resource with initialization errors: it finishes booting.
    healed = plugin.update("chat", partial.id, partial.properties, checked(plugin), timeout=60)
    assert healed["status"] == "running" and healed["baseUrl"]


def test_cancel_stops_every_wait_and_keeps_what_was_started(
    plugin: PluginProcess, cortecs_api: FakeApiProcess
) -> None:
    cortecs_api.configure(step_seconds=30.0)
    news = [checked(plugin, f"llm-{n}") for n in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        creates = [pool.submit(plugin.create, f"llm-{n}", news[n]) for n in range(3)]
        wait_for(lambda: cortecs_api.state()["starts"] == 3)
        plugin.cancel()
        reported: list[InitFailed] = []
        for create in creates:
            with pytest.raises(InitFailed) as failed:
                create.result(timeout=30)  # the boots take 150 s: only Cancel ends them sooner
            reported.append(failed.value)
    kept = sorted(i["instance_id"] for i in cortecs_api.instances())
    assert sorted(partial.id for partial in reported) == kept, "every started instance reported"
    assert all("cancelled" in partial.message for partial in reported)
    with pytest.raises(Exception, match="cancelled before anything was started"):
        plugin.create("late", news[0])
    assert cortecs_api.state()["starts"] == 3


def test_the_owner_is_the_urn(plugin: PluginProcess, cortecs_api: FakeApiProcess) -> None:
    instance_id, _ = plugin.create("chat", checked(plugin))
    assert plugin.logged(f"started {instance_id} for {urn('chat')}")


def test_secrets_stay_secret_in_outputs(plugin: PluginProcess) -> None:
    news = checked(plugin, chatOpenaiKwargs={"temperature": 0.0})
    response = plugin.stub.Create(
        provider_pb2.CreateRequest(
            urn=urn("chat"),
            type=INSTANCE,
            properties=struct(news, secret={"chatOpenaiKwargs"}),
        )
    )
    assert {"chatOpenaiKwargs", "chatOpenaiArgs"} <= secret_keys(response.properties)
    assert "baseUrl" not in secret_keys(response.properties)


def test_sixty_four_creates_run_side_by_side_in_one_plugin_process(
    plugin: PluginProcess, cortecs_api: FakeApiProcess
) -> None:
    news = [checked(plugin, f"llm-{n}", readinessProbe=False) for n in range(64)]
    with ThreadPoolExecutor(max_workers=64) as pool:
        created = list(pool.map(lambda n: plugin.create(f"llm-{n}", news[n]), range(64)))
    assert len({instance_id for instance_id, _ in created}) == 64
    assert all(outputs["status"] == "running" for _, outputs in created)


def test_the_yaml_example_declares_instances_with_schema_names_only() -> None:
    program = yaml.safe_load((PROJECT_ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    schema = package_schema()["resources"][INSTANCE]
    assert program["packages"] == {"cortecs": "../../provider"}
    assert len(program["resources"]) == 2
    for resource in program["resources"].values():
        assert resource["type"] == INSTANCE
        assert set(resource["properties"]) <= set(schema["inputProperties"])
    referenced = re.findall(r"\$\{\w+\.(\w+)\}", json.dumps(program["outputs"]))
    assert set(referenced) <= set(schema["properties"]) and "baseUrl" in referenced
    assert {p.camel_name for p in INPUTS + OUTPUTS if not p.internal} == set(schema["properties"])
