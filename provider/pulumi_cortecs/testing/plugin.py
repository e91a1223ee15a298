"""Playing the Pulumi engine's part against a native provider plugin (``provider/``).

What the Python language host does with a plugin directory:
run ``python <plugin dir> <engine address>`` in the program's directory, read the port from
the first line of stdout, then GetPluginInfo, GetSchema, CheckConfig and Configure, then the
resource calls, with customTimeouts in Create/Update/Delete and Cancel when the user presses
Ctrl-C. The address is a :class:`RecordingEngine`'s, which keeps the messages the provider
sends. An initialization failure is decoded from the error's trailer as the engine decodes it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime.proto import provider_pb2, status_pb2

from pulumi_cortecs.native import INSTANCE, PACKAGE
from pulumi_cortecs.native._values import has_secret, plain
from pulumi_cortecs.testing._served import ServedProcess


def urn(name: str, *, stack: str = "dev", project: str = "cortecs-instances") -> str:
    return f"urn:pulumi:{stack}::{project}::{INSTANCE}::{name}"


@dataclass
class InitFailed(Exception):
    """The plugin reported partial state: the resource exists, with these properties."""

    message: str
    id: str
    properties: dict[str, Any]
    inputs: dict[str, Any]
    reasons: list[str]


def struct(values: Mapping[str, Any], secret: Collection[str] = ()) -> Any:
    """A Struct of ``values`` as the engine sends it (numbers as floats, secrets wrapped)."""
    return PropertyValue.marshal_map(
        {key: _value(value, key in secret) for key, value in values.items()}
    )


def unstruct(struct_: Any) -> dict[str, Any]:
    return {key: plain(value) for key, value in PropertyValue.unmarshal_map(struct_).items()}


def secret_keys(struct_: Any) -> set[str]:
    return {k for k, v in PropertyValue.unmarshal_map(struct_).items() if has_secret(v)}


def _value(value: Any, is_secret: bool = False) -> PropertyValue:
    if isinstance(value, Mapping):
        return PropertyValue({k: _value(v) for k, v in value.items()}, is_secret=is_secret)
    if isinstance(value, list | tuple):
        return PropertyValue([_value(v) for v in value], is_secret=is_secret)
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return PropertyValue(value, is_secret=is_secret)


class PluginProcess(ServedProcess):
    """One plugin process (``python <plugin_dir> <engine address>`` in the program's directory
    ``cwd``; ``engine=False``: no address), and a gRPC stub talking to it as the engine does."""

    def __init__(
        self, plugin_dir: Path, *, env: Mapping[str, str], cwd: Path, engine: bool = True
    ) -> None:
        super().__init__([sys.executable, str(plugin_dir)], env=env, cwd=cwd, engine=engine)

    def plugin_version(self) -> str:
        return str(self.stub.GetPluginInfo(empty_pb2.Empty()).version)

    def schema(self) -> dict[str, Any]:
        response = self.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0))
        return dict(json.loads(response.schema))

    def configure(self, config: Mapping[str, Any], secret: Collection[str] = ()) -> Any:
        """CheckConfig, then Configure, with ``config`` keyed as in the schema (``clientId``)."""
        provider_urn = f"urn:pulumi:dev::cortecs-instances::pulumi:providers:{PACKAGE}::default"
        self.stub.CheckConfig(
            provider_pb2.CheckRequest(urn=provider_urn, olds=struct({}), news=struct(config))
        )
        return self.stub.Configure(
            provider_pb2.ConfigureRequest(
                variables={f"{PACKAGE}:config:{k}": str(v) for k, v in config.items()},
                args=struct(config, secret),
                acceptSecrets=True,
                acceptResources=True,
            )
        )

    def check(
        self, name: str, news: Mapping[str, Any], secret: Collection[str] = ()
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        response = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn(name), type=INSTANCE, olds=struct({}), news=struct(news, secret)
            )
        )
        return unstruct(response.inputs), [(f.property, f.reason) for f in response.failures]

    def diff(self, name: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
        return self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_, urn=urn(name), type=INSTANCE, olds=struct(olds), news=struct(news)
            )
        )

    def create(
        self,
        name: str,
        props: Mapping[str, Any],
        *,
        timeout: float = 0.0,
        preview: bool = False,
        secret: Collection[str] = (),
    ) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.CreateRequest(
            urn=urn(name),
            type=INSTANCE,
            properties=struct(props, secret),
            timeout=timeout,
            preview=preview,
        )
        response = _reporting(self.stub.Create, request)
        return response.id, unstruct(response.properties)

    def update(
        self,
        name: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        timeout: float = 0.0,
        preview: bool = False,
    ) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=urn(name),
            type=INSTANCE,
            olds=struct(olds),
            news=struct(news),
            timeout=timeout,
            preview=preview,
        )
        return unstruct(_reporting(self.stub.Update, request).properties)

    def read(
        self,
        name: str,
        id_: str,
        properties: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """A refresh (with state), or what ``pulumi import`` sends: only the id."""
        response = self.stub.Read(
            provider_pb2.ReadRequest(
                id=id_,
                urn=urn(name),
                type=INSTANCE,
                properties=struct(properties or {}),
                inputs=struct(inputs or {}),
            )
        )
        return response.id, unstruct(response.properties), unstruct(response.inputs)

    def delete(
        self, name: str, id_: str, properties: Mapping[str, Any], *, timeout: float = 0.0
    ) -> None:
        self.stub.Delete(
            provider_pb2.DeleteRequest(
                id=id_, urn=urn(name), type=INSTANCE, properties=struct(properties), timeout=timeout
            )
        )

    def cancel(self) -> None:
        self.stub.Cancel(empty_pb2.Empty())


def _reporting(call: Any, request: Any) -> Any:
    """``call(request)``, raising :class:`InitFailed` when the plugin reports partial state."""
    try:
        return call(request)
    except grpc.RpcError as error:
        failed = _init_failed(error)
        if failed is None:
            raise
        raise failed from None


def _init_failed(error: grpc.RpcError) -> InitFailed | None:
    trailer = dict(error.trailing_metadata() or ())
    raw = trailer.get("grpc-status-details-bin")
    if raw is None:
        return None
    for detail in status_pb2.Status.FromString(raw).details:
        if detail.Is(provider_pb2.ErrorResourceInitFailed.DESCRIPTOR):
            failed = provider_pb2.ErrorResourceInitFailed()
            detail.Unpack(failed)
            return InitFailed(
                str(error.details()),
                failed.id,
                unstruct(failed.properties),
                unstruct(failed.inputs),
                list(failed.reasons),
            )
    return None
