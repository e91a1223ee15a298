"""Where a provider's messages go: under the resource they are about, in ``pulumi up``.

The engine starts every provider process with its own address on the command line, and that
address serves ``pulumirpc.Engine``, whose ``Log`` shows a message under the resource whose URN
it carries, or, ``ephemeral``, as that resource's status while it works (not kept in the
summary). A provider process that was given no address, or cannot reach it, writes to stderr,
which the engine shows too, but loose, under no resource.

The lifecycle reports through a :class:`Reporter`, one per engine call, so it never knows which
provider serves it; each provider makes one from the call's URN (:meth:`EngineLog.reporter`).
Messages are sent here rather than through ``pulumi.log``: that needs the SDK's runtime
settings, which are context variables that the threads the lifecycle runs on do not inherit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

import grpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

# A message is not worth holding up the deployment for: an engine that has not answered in
# this time gets the message on stderr instead.
LOG_TIMEOUT_SECONDS = 5.0
# What stderr lines start with, as ``pulumi.log`` writes them.
_PREFIXES = {engine_pb2.INFO: "info", engine_pb2.WARNING: "warning"}


def engine_address(argv: Sequence[str]) -> str:
    """The engine's address among a provider process's arguments: ``[--logtostderr] [-v=N]
    [--tracing URL] ADDRESS`` (the SDK's parser would take the tracing URL for it); empty when
    there is none."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--logflow", action="store_true")
    parser.add_argument("--logtostderr", action="store_true")
    parser.add_argument("--tracing")
    parser.add_argument("engine", nargs="?", default="")
    known, _ = parser.parse_known_args(argv)
    return str(known.engine)


class EngineLog:
    """The engine's Log service at ``address`` (empty: none), shared by a provider process's
    calls; stderr (``stderr``, or the process's) for messages it does not take."""

    def __init__(self, address: str, *, stderr: TextIO | None = None) -> None:
        self._stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address)) if address else None
        self._stderr = stderr

    def reporter(self, urn: str) -> Reporter:
        """The reporter of one engine call about the resource ``urn`` (empty: about none)."""
        return Reporter(self, urn)

    def send(
        self,
        severity: engine_pb2.LogSeverity.ValueType,
        message: str,
        urn: str,
        *,
        ephemeral: bool = False,
    ) -> None:
        if self._stub is not None:
            request = engine_pb2.LogRequest(
                severity=severity, message=message, urn=urn, ephemeral=ephemeral
            )
            try:
                self._stub.Log(request, timeout=LOG_TIMEOUT_SECONDS)
            except grpc.RpcError:
                # The engine is gone or not listening: this message and every later one go to
                # stderr, rather than each holding its call up for the timeout again (sixty-four
                # booting instances say a dozen things each).
                self._stub = None
            else:
                return
        print(f"{_PREFIXES[severity]}: {message}", file=self._stderr or sys.stderr, flush=True)


@dataclass(frozen=True)
class Reporter:
    """What one engine call has to say about its resource (``urn``), as the user sees it."""

    log: EngineLog
    urn: str

    def info(self, message: str) -> None:
        self.log.send(engine_pb2.INFO, message, self.urn)

    def warn(self, message: str) -> None:
        self.log.send(engine_pb2.WARNING, message, self.urn)

    def status(self, message: str) -> None:
        """Shown in the resource's row while it works; the next status replaces it."""
        self.log.send(engine_pb2.INFO, message, self.urn, ephemeral=True)
