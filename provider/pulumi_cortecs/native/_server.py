"""Serving the provider to the engine: the SDK's gRPC servicer, plus what it cannot do yet.

``pulumi.provider.experimental.server.main`` turns every exception into a plain UNKNOWN error,
so the engine forgets a resource whose create failed after it existed. Here Create and Update
turn :class:`ResourceInitError` into the error the engine records as a partial failure: the
``grpc-status-details-bin`` trailer carries a ``google.rpc.Status`` that packs
``pulumirpc.ErrorResourceInitFailed`` (id, properties, inputs, reasons), as Pulumi's Go and
Node.js SDKs send it. The engine then keeps the instance in the state (tainted, as Terraform
says) and the next ``up`` finishes or replaces it. Besides: Cancel reaches the provider on
every SDK version, argv parsing survives ``--tracing <endpoint>``, and blocking work (the API
client is synchronous) gets a thread pool wide enough for 64 creates at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.provider.experimental import provider as api
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc, status_pb2

from pulumi_cortecs.resource._reporting import engine_address
from pulumi_cortecs.resource._server_pool import server_threads

# The SDK's own servers accept messages this large.
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024)]


class ResourceInitError(Exception):
    """The resource exists (it has an id) but did not become ready: report partial state."""

    def __init__(
        self,
        message: str,
        resource_id: str,
        properties: Mapping[str, PropertyValue],
        inputs: Mapping[str, PropertyValue] | None = None,
    ) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.properties = dict(properties)
        self.inputs = dict(inputs) if inputs is not None else None


def init_failed_details(error: ResourceInitError) -> bytes:
    """The ``grpc-status-details-bin`` the engine reads an initialization failure from."""
    detail = provider_pb2.ErrorResourceInitFailed(
        id=error.resource_id,
        properties=PropertyValue.marshal_map(error.properties),
        reasons=[str(error)],
    )
    if error.inputs is not None:
        detail.inputs.CopyFrom(PropertyValue.marshal_map(error.inputs))
    status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=str(error))
    status.details.add().Pack(detail)
    return bytes(status.SerializeToString())


class Servicer(ProviderServicer):
    """The SDK's servicer, reporting partial state and forwarding Cancel."""

    async def Cancel(self, request: Any, context: Any) -> Any:
        # The SDK forwards Cancel itself only from 3.230 on.
        await self._provider.cancel()
        return empty_pb2.Empty()

    async def Create(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        create = api.CreateRequest(
            request.urn,
            PropertyValue.unmarshal_map(request.properties),
            request.timeout,
            request.preview,
        )
        response = await self._reporting(self._provider.create(create), context)
        return provider_pb2.CreateResponse(
            id=response.resource_id or "",
            properties=PropertyValue.marshal_map(response.properties or {}),
        )

    async def Update(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        update = api.UpdateRequest(
            request.urn,
            request.id,
            PropertyValue.unmarshal_map(request.olds),
            PropertyValue.unmarshal_map(request.news),
            timeout=request.timeout,
            ignore_changes=list(request.ignoreChanges),
            preview=request.preview,
        )
        response = await self._reporting(self._provider.update(update), context)
        return provider_pb2.UpdateResponse(
            properties=PropertyValue.marshal_map(response.properties or {})
        )

    @staticmethod
    async def _reporting(call: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await call
        except ResourceInitError as error:
            trailer = (("grpc-status-details-bin", init_failed_details(error)),)
            await context.abort(grpc.StatusCode.UNKNOWN, str(error), trailing_metadata=trailer)
        except Exception as error:
            # What the SDK's servicer does: UNKNOWN, the message and where it came from.
            where = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
            raise Exception(f"{error}:\n{where}") from None


def serve(argv: Sequence[str], version: str, provider: api.Provider) -> None:
    """Listen on 127.0.0.1, write the port as the first line on stdout, serve until killed."""

    async def run() -> None:
        # Calls that block (HTTP through the synchronous client, waits between polls) run in
        # threads, as many as the dynamic provider's server gets.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=server_threads(), thread_name_prefix="cortecs")
        )
        server = grpc.aio.server(options=_CHANNEL_OPTIONS)
        servicer = Servicer(list(argv), version, provider, engine_address=engine_address(argv))
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        await server.wait_for_termination()

    with contextlib.suppress(KeyboardInterrupt):  # the engine's way to stop a plugin
        asyncio.run(run())
