"""Playing the Pulumi engine's part against the SDK's own dynamic-provider server.

The CLI cannot be installed here, so these helpers do what the engine does: start ``python -u -m
pulumi.dynamic <engine address>`` in the project directory (the address of a
:class:`RecordingEngine`, which keeps the messages the provider sends), read its port from the
first stdout line, Configure it with the whole namespaced stack config, then call
Check/Diff/Create/Read/Update/Delete over gRPC with the engine's argument conventions (old
OUTPUTS as ``olds`` for Diff and Update). The serialized provider comes from constructing the
real ManagedInstance under ``pulumi.runtime.set_mocks``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from pulumi_cortecs.testing._served import ServedProcess

TYPE_TOKEN = "pulumi-python:dynamic/cortecs:ManagedInstance"
UNKNOWN = rpc.UNKNOWN


PROJECT = "cortecs-instances"


def program_inputs(
    build: Callable[[], Iterable[pulumi.Resource]], *, stack: str = "test"
) -> dict[str, dict[str, Any]]:
    """The inputs the engine would receive for each resource a program declares, by name, when
    the program runs for ``stack`` of project :data:`PROJECT`."""
    captured: dict[str, dict[str, Any]] = {}

    class Capture(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            # The engine strips secret markers before a provider that does not accept secrets.
            captured[args.name] = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
            return {}, []

    pulumi.runtime.set_mocks(Capture(), project=PROJECT, stack=stack, preview=False)

    def declare() -> pulumi.Output[Any]:
        return pulumi.Output.all(*[resource.urn for resource in build()])

    # pulumi.runtime.test runs the program to completion on the mocks.
    pulumi.runtime.test(declare)()  # type: ignore[no-untyped-call]
    return captured


def declare(name: str = "chat", *, stack: str = "test", **inputs: Any) -> dict[str, Any]:
    """The inputs the engine receives for ``ManagedInstance(name, **inputs)`` declared in
    ``stack``: what a test hands :class:`Deployment` as one resource of a program."""
    from pulumi_cortecs.resource import ManagedInstance

    return program_inputs(lambda: [ManagedInstance(name, **inputs)], stack=stack)[name]


def _to_struct(props: Mapping[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _from_struct(struct: Any) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, True))


class ProviderProcess(ServedProcess):
    """One ``python -u -m pulumi.dynamic <engine address>`` server and a gRPC stub talking to
    it, started in ``cwd`` (the engine starts it in the project directory, where a stack's files
    live); ``engine=False``: with no address."""

    def __init__(
        self, env: Mapping[str, str] | None = None, cwd: Path | None = None, *, engine: bool = True
    ) -> None:
        super().__init__(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            env={**(os.environ if env is None else env), "PULUMI_PROJECT": PROJECT},
            cwd=cwd or Path.cwd(),
            engine=engine,
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        self.stub.Configure(
            provider_pb2.ConfigureRequest(
                args=_to_struct(config), acceptSecrets=True, acceptResources=True
            )
        )

    def check(
        self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None, *, name: str = "check"
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Each call takes the resource's ``name``, which goes into the request's URN."""
        response = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn(name),
                type=TYPE_TOKEN,
                olds=_to_struct(olds or {}),
                news=_to_struct(news),
            )
        )
        failures = [(f.property, f.reason) for f in response.failures]
        return _from_struct(response.inputs), failures

    def diff(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, name: str = ""
    ) -> Any:
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn(name or id_),
                type=TYPE_TOKEN,
                olds=_to_struct(olds),
                news=_to_struct(news),
            )
        )

    def create(
        self, props: Mapping[str, Any], *, name: str = "create"
    ) -> tuple[str, dict[str, Any]]:
        response = self.stub.Create(
            provider_pb2.CreateRequest(
                urn=urn(name), type=TYPE_TOKEN, properties=_to_struct(props), timeout=60
            )
        )
        return response.id, _from_struct(response.properties)

    def read(
        self, id_: str, outputs: Mapping[str, Any], inputs: Mapping[str, Any], *, name: str = ""
    ) -> tuple[str, dict[str, Any]]:
        response = self.stub.Read(
            provider_pb2.ReadRequest(
                id=id_,
                urn=urn(name or id_),
                type=TYPE_TOKEN,
                properties=_to_struct(outputs),
                inputs=_to_struct(inputs),
            )
        )
        return response.id, _from_struct(response.properties)

    def update(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, name: str = ""
    ) -> dict[str, Any]:
        response = self.stub.Update(
            provider_pb2.UpdateRequest(
                id=id_,
                urn=urn(name or id_),
                type=TYPE_TOKEN,
                olds=_to_struct(olds),
                news=_to_struct(news),
            )
        )
        return _from_struct(response.properties)

    def delete(self, id_: str, outputs: Mapping[str, Any], *, name: str = "") -> None:
        self.stub.Delete(
            provider_pb2.DeleteRequest(
                id=id_, urn=urn(name or id_), type=TYPE_TOKEN, properties=_to_struct(outputs)
            )
        )


def urn(name: str) -> str:
    """The URN of the resource ``name`` in stack ``test`` of project :data:`PROJECT`."""
    return f"urn:pulumi:test::{PROJECT}::{TYPE_TOKEN}::{name}"


@dataclass
class StateEntry:
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass
class Deployment:
    """The engine's bookkeeping for one stack: what ``up``, ``refresh`` and ``destroy`` do.

    Each step drives the provider exactly as the engine would, and the state it keeps is what
    a checkpoint records: checked inputs and outputs per resource.
    """

    provider: ProviderProcess
    state: dict[str, StateEntry] = field(default_factory=dict)

    def _plan(self, name: str, news: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Check a declared resource, then diff it against its state: the step and its inputs."""
        old = self.state.get(name)
        checked, failures = self.provider.check(news, old.inputs if old else None, name=name)
        if failures:
            raise CheckFailed(failures)
        if old is None:
            return "create", checked
        return _plan_of(self.provider.diff(old.id, old.outputs, checked, name=name)), checked

    def preview(self, declared: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """What ``pulumi preview`` would do per resource: create, update, replace or same."""
        plan = {name: self._plan(name, news)[0] for name, news in declared.items()}
        for name in self.state.keys() - declared.keys():
            plan[name] = "delete"
        return plan

    def up(self, declared: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        done: dict[str, str] = {}
        for name, news in declared.items():
            step, checked = self._plan(name, news)
            done[name] = step
            if step == "create":
                id_, outputs = self.provider.create(checked, name=name)
                self.state[name] = StateEntry(id_, checked, outputs)
                continue
            old = self.state[name]
            if step == "update":
                outputs = self.provider.update(old.id, old.outputs, checked, name=name)
                self.state[name] = StateEntry(old.id, checked, outputs)
            elif step == "replace":
                id_, outputs = self.provider.create(checked, name=name)
                self.provider.delete(old.id, old.outputs, name=name)
                self.state[name] = StateEntry(id_, checked, outputs)
            else:
                self.state[name] = StateEntry(old.id, checked, old.outputs)
        for name in list(self.state.keys() - declared.keys()):
            self.provider.delete(self.state[name].id, self.state[name].outputs, name=name)
            del self.state[name]
            done[name] = "delete"
        return done

    def refresh(self) -> None:
        for name, entry in list(self.state.items()):
            id_, outputs = self.provider.read(entry.id, entry.outputs, entry.inputs, name=name)
            if not id_:
                del self.state[name]
            else:
                self.state[name] = StateEntry(id_, entry.inputs, outputs)

    def destroy(self) -> None:
        for name in list(self.state):
            self.provider.delete(self.state[name].id, self.state[name].outputs, name=name)
            del self.state[name]


class CheckFailed(Exception):
    def __init__(self, failures: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{prop}: {reason}" for prop, reason in failures))
        self.failures = failures


def _plan_of(diff: Any) -> str:
    if diff.changes != provider_pb2.DiffResponse.DIFF_SOME:
        return "same"
    return "replace" if list(diff.replaces) else "update"
