"""Red team: two components each with a child ``llm`` (same name, same arguments, different
parents) created at once, the first start's answer lost on the way back. Through the engine
protocol against the HTTP fake, for the dynamic provider and the native plugin: each resource
gets its own instance, and each instance's messages are shown under its own resource's URN."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2
from pulumi_cortecs.native import INSTANCE
from pulumi_cortecs.testing import EngineMessage, FakeApiProcess
from pulumi_cortecs.testing.engine import (
    PROJECT,
    ProviderProcess,
    _from_struct,
    _to_struct,
    declare,
)
from pulumi_cortecs.testing.plugin import PluginProcess, struct, unstruct

from tests import LLAMA, MANAGED_INSTANCE_TYPE
from tests.test_native_provider import plugin

__all__ = ["plugin"]  # the fixture, shared with test_native_provider

pytestmark = pytest.mark.engine

PARENTS = ("demo:index:RagApp", "demo:index:Agent")


def child_urn(stack: str, parent: str, type_: str) -> str:
    """The URN of ``llm`` declared under a component of type ``parent``."""
    return f"urn:pulumi:{stack}::{PROJECT}::{parent}${type_}::llm"


def create_at_once(urns: list[str], create: Callable[[str], str]) -> dict[str, str]:
    """Each URN's instance id, the creates sent at once as the engine sends independent ones."""
    with ThreadPoolExecutor(max_workers=len(urns)) as pool:
        return dict(zip(urns, pool.map(create, urns), strict=True))


def assert_each_has_its_own_under_its_urn(
    api: FakeApiProcess, created: dict[str, str], messages: list[EngineMessage]
) -> None:
    state = api.state()
    assert state["faults_injected"] == {"lost_start": 1} and state["starts"] == len(created)
    assert len(set(created.values())) == len(created), created
    assert sorted(i["instance_id"] for i in api.instances()) == sorted(created.values())
    for urn, instance_id in created.items():
        about = {message.urn for message in messages if instance_id in message.text}
        assert about == {urn}, (instance_id, about)


@pytest.fixture
def lost_first_answer(cortecs_api: FakeApiProcess) -> FakeApiProcess:
    cortecs_api.faults(inject={"kind": "lost_start", "times": 1})
    return cortecs_api


def test_dynamic_children_of_one_name_under_two_parents(
    lost_first_answer: FakeApiProcess, cortecs_engine: ProviderProcess
) -> None:
    inputs = declare("llm", model_id=LLAMA)

    def create(urn: str) -> str:
        props = {**inputs, "owner": urn}
        checked = _from_struct(
            cortecs_engine.stub.Check(
                provider_pb2.CheckRequest(
                    urn=urn, type=MANAGED_INSTANCE_TYPE, olds=_to_struct({}), news=_to_struct(props)
                )
            ).inputs
        )
        response = cortecs_engine.stub.Create(
            provider_pb2.CreateRequest(
                urn=urn, type=MANAGED_INSTANCE_TYPE, properties=_to_struct(checked), timeout=60
            )
        )
        return str(response.id)

    urns = [child_urn("test", parent, MANAGED_INSTANCE_TYPE) for parent in PARENTS]
    created = create_at_once(urns, create)
    assert cortecs_engine.engine is not None
    assert_each_has_its_own_under_its_urn(
        lost_first_answer, created, list(cortecs_engine.engine.messages)
    )


def test_native_children_of_one_name_under_two_parents(
    lost_first_answer: FakeApiProcess, plugin: PluginProcess
) -> None:
    def create(urn: str) -> str:
        checked: Any = plugin.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn, type=INSTANCE, olds=struct({}), news=struct({"modelId": LLAMA})
            )
        )
        assert not checked.failures
        response = plugin.stub.Create(
            provider_pb2.CreateRequest(
                urn=urn, type=INSTANCE, properties=struct(unstruct(checked.inputs)), timeout=60
            )
        )
        return str(response.id)

    urns = [child_urn("dev", parent, INSTANCE) for parent in PARENTS]
    created = create_at_once(urns, create)
    assert plugin.engine is not None
    assert_each_has_its_own_under_its_urn(lost_first_answer, created, list(plugin.engine.messages))
