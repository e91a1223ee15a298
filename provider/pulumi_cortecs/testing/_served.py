"""A provider process as the engine runs one: started with a command and the address of the
engine's service (a :class:`RecordingEngine`), its port read from the first line of its stdout,
what the user is shown (the messages it sends the engine, and its stderr) collected, and a gRPC
stub of the ResourceProvider service talking to it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
from pulumi.runtime.proto import provider_pb2_grpc

from pulumi_cortecs.testing._recording_engine import RecordingEngine


class ServedProcess:
    def __init__(
        self, command: Sequence[str], *, env: Mapping[str, str], cwd: Path, engine: bool = True
    ) -> None:
        """``engine=False``: started without an engine's address, as a provider is by hand."""
        self._shown = threading.Condition()
        self.engine = RecordingEngine(self._shown) if engine else None
        address = [self.engine.address] if self.engine else []
        self.process = subprocess.Popen(
            [*command, *address],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().decode().strip())
        self.stderr_lines: list[str] = []
        self._drain_thread = threading.Thread(target=self._drain, daemon=True)
        self._drain_thread.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._shown:
                self.stderr_lines.append(line.decode(errors="replace"))
                self._shown.notify_all()

    @property
    def stderr(self) -> str:
        """What it has written so far; complete once it has been closed or killed."""
        return "".join(self.stderr_lines)

    @property
    def shown(self) -> str:
        """What the user has been shown so far: the engine's messages, a line each, then stderr."""
        with self._shown:
            messages = self.engine.messages if self.engine else []
            return "".join(f"{message.text}\n" for message in messages) + self.stderr

    def logged(self, text: str, *, times: int = 1, timeout: float = 10.0) -> bool:
        """Whether `text` has been shown `times` times, waiting for lines still in the pipe: an
        RPC's answer can arrive before the stderr lines it wrote on the way."""
        with self._shown:
            return self._shown.wait_for(lambda: self.shown.count(text) >= times, timeout)

    def kill(self) -> None:
        """What a killed `pulumi up` does to it: no time to finish anything."""
        self.process.kill()
        self.process.wait()
        self._drain_thread.join()
        self.channel.close()
        self._close_engine()

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drain_thread.join()
        self._close_engine()

    def _close_engine(self) -> None:
        if self.engine is not None:
            self.engine.close()
