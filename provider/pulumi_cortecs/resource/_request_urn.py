"""The URN of the engine request a dynamic provider's method is serving.

The engine sends the URN with every resource call (``CheckRequest.urn``, ``CreateRequest.urn``,
...), but the SDK's dynamic-provider server (``python -m pulumi.dynamic``) passes a
``ResourceProvider`` only the properties, and offers no hook around its calls: the servicer and
its gRPC server are built in the SDK's ``main`` before any code of ours runs. The request is
still there, though: the server decodes it and calls the provider from the same thread, so it is
a local variable of a frame further up the stack. Found by its type, not its name, so neither the
servicer's nor gRPC's naming matters; a server that called the provider from another thread
would find none, and messages would be shown under no resource, as before.
"""

from __future__ import annotations

import sys
from types import FrameType

from pulumi.runtime.proto import provider_pb2

_RESOURCE_REQUESTS = (
    provider_pb2.CheckRequest,
    provider_pb2.DiffRequest,
    provider_pb2.CreateRequest,
    provider_pb2.ReadRequest,
    provider_pb2.UpdateRequest,
    provider_pb2.DeleteRequest,
)


def request_urn() -> str:
    """The URN of the request the calling thread serves; empty when it serves none."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, _RESOURCE_REQUESTS):
                return str(value.urn)
        frame = frame.f_back
    return ""
