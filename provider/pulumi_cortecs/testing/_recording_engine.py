"""The engine's end of a provider's messages: a ``pulumirpc.Engine`` service that records every
``Log`` call, at the address a provider process gets on its command line, as the engine passes
its own. The engine's other calls (``GetRootResource``, ...) stay unimplemented: a custom
resource's provider does not need them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc


@dataclass(frozen=True)
class EngineMessage:
    """One ``Log`` call: what the user is shown, and where."""

    severity: str
    """``INFO``, ``WARNING``, ... (the name of ``pulumirpc.LogSeverity``)."""
    text: str
    urn: str
    """The resource it is shown under; empty: under none."""
    ephemeral: bool
    """A status, shown in the resource's row while it works, not in the summary."""


class RecordingEngine(engine_pb2_grpc.EngineServicer):
    """Serves on 127.0.0.1 (:attr:`address`) until :meth:`close`; each message it is sent is
    appended to :attr:`messages` with ``changed`` held, and ``changed`` notified."""

    def __init__(self, changed: threading.Condition | None = None) -> None:
        self.messages: list[EngineMessage] = []
        self.changed = changed or threading.Condition()
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self._server)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def Log(self, request: engine_pb2.LogRequest, context: Any) -> empty_pb2.Empty:
        message = EngineMessage(
            engine_pb2.LogSeverity.Name(request.severity),
            request.message,
            request.urn,
            request.ephemeral,
        )
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        return empty_pb2.Empty()

    def close(self) -> None:
        self._server.stop(None).wait()
