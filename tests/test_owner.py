"""The owner of an instance is the URN of the resource that started it."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from pulumi_cortecs import InstanceArgs, ManagedInstance
from pulumi_cortecs._journal import Journal
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._store import DirectoryStore
from pulumi_cortecs.api._starts import StartIntent
from pulumi_cortecs.testing import program_inputs
from pulumi_cortecs.testing.engine import PROJECT

from tests import LLAMA, LLAMA_ID
from tests import MANAGED_INSTANCE_TYPE as TYPE


class App(pulumi.ComponentResource):
    """A component with a child instance named ``llm``, as a RAG app or an agent has."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"demo:index:{kind}", name)
        self.llm = ManagedInstance("llm", model_id=LLAMA, opts=pulumi.ResourceOptions(parent=self))


def test_a_managed_instance_is_owned_by_the_urn_it_registers_under() -> None:
    owners: list[str] = []

    def build() -> list[pulumi.Resource]:
        top = ManagedInstance("llm", model_id=LLAMA)
        rag, agent = App("Rag", "rag"), App("Agent", "agent")
        return [top, rag, rag.llm, agent, agent.llm]

    class Capture(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            if "owner" in args.inputs:
                owners.append(args.inputs["owner"])
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
            return {}, []

    pulumi.runtime.set_mocks(Capture(), project=PROJECT, stack="dev", preview=False)
    pulumi.runtime.test(lambda: pulumi.Output.all(*[r.urn for r in build()]))()
    top = f"urn:pulumi:dev::{PROJECT}::{TYPE}::llm"
    assert top in owners and len(set(owners)) == 3, "one owner per URN, parents included"
    assert any(f"demo:index:Rag${TYPE}::llm" in owner for owner in owners)
    assert any(f"demo:index:Agent${TYPE}::llm" in owner for owner in owners)


def test_program_inputs_carry_the_urn() -> None:
    [inputs] = program_inputs(lambda: [ManagedInstance("chat", model_id=LLAMA)], stack="a").values()
    assert inputs["owner"] == f"urn:pulumi:a::{PROJECT}::{TYPE}::chat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"urn:pulumi:dev::{PROJECT}::{TYPE}::chat", (PROJECT, "dev", "chat")),
        (f"urn:pulumi:dev::{PROJECT}::a:b:C${TYPE}::a::b", (PROJECT, "dev", "a::b")),
        (f"{PROJECT}/dev/chat/with/slashes", (PROJECT, "dev", "chat/with/slashes")),
    ],
)
def test_owners_are_urns_or_the_older_project_stack_resource(
    text: str, expected: tuple[str, str, str]
) -> None:
    owner = Owner.parse(text)
    assert (owner.project, owner.stack, owner.name) == expected
    assert str(owner) == text


@pytest.mark.parametrize("text", ["", "a/b", "urn:pulumi:dev::p::t", "a//c", None, 3])
def test_anything_else_is_refused_naming_both_forms(text: object) -> None:
    with pytest.raises(ValueError, match=r"resource URN .* or project/stack/resource"):
        Owner.parse(text)


def test_an_older_record_is_claimed_by_one_resource_of_its_name_only(tmp_path: Path) -> None:
    journal = Journal(DirectoryStore(tmp_path))
    older = Owner.parse(f"{PROJECT}/dev/llm")
    start = StartIntent(InstanceArgs(model_id=LLAMA_ID), frozenset())
    journal.begin(older, start)
    rag = Owner.parse(f"urn:pulumi:dev::{PROJECT}::demo:index:Rag${TYPE}::llm")
    agent = Owner.parse(f"urn:pulumi:dev::{PROJECT}::demo:index:Agent${TYPE}::llm")
    other = Owner.parse(f"urn:pulumi:dev::{PROJECT}::{TYPE}::chat")
    [record] = journal.entries(rag)
    assert record.owned_by(rag) and record.owned_by(agent) and not record.owned_by(other)
    assert journal.claim(rag, start.key)
    assert not journal.claim(agent, start.key), "claimed already"
    [record] = journal.entries(rag)
    assert record.owner == str(rag) and not record.owned_by(agent)
