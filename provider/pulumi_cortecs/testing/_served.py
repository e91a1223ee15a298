"""A provider process as the engine runs one: started with a command, its port read from the
first line of its stdout, its stderr (what the engine shows the user) collected, and a gRPC
stub of the ResourceProvider service talking to it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
from pulumi.runtime.proto import provider_pb2_grpc


class ServedProcess:
    def __init__(self, command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().decode().strip())
        self.stderr_lines: list[str] = []
        self._line_read = threading.Condition()
        self._drain_thread = threading.Thread(target=self._drain, daemon=True)
        self._drain_thread.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._line_read:
                self.stderr_lines.append(line.decode(errors="replace"))
                self._line_read.notify_all()

    @property
    def stderr(self) -> str:
        """What it has written so far; complete once it has been closed or killed."""
        return "".join(self.stderr_lines)

    def logged(self, text: str, *, times: int = 1, timeout: float = 10.0) -> bool:
        """Whether `text` appears `times` times in its stderr, waiting for lines still in the
        pipe: an RPC's answer can arrive before the log lines it wrote on the way."""
        with self._line_read:
            return self._line_read.wait_for(lambda: self.stderr.count(text) >= times, timeout)

    def kill(self) -> None:
        """What a killed `pulumi up` does to it: no time to finish anything."""
        self.process.kill()
        self.process.wait()
        self._drain_thread.join()
        self.channel.close()

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drain_thread.join()
