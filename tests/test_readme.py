"""Every shell and Python snippet of README.md runs as written, against the local API.

A ```bash or ```python block is run unless the line before it says why not:
``<!-- snippet: skip (reason) -->`` (it needs the Pulumi CLI, a real account, or installs into
the current environment); the test is then skipped with that reason. How each kind runs:

- a Pulumi program (Python that calls ``pulumi.export``) runs on the SDK's mocks, and each
  instance it declares must pass the provider's check against the fake's catalog;
- Python that defines ``test_`` functions runs under pytest, with the fixtures the package
  registers, and must pass every test it defines;
- other Python runs as a script in a clean environment (no ``CORTECS_*``, no
  ``OPENAI_API_KEY``) where the local API's exports are set, as ``python -m
  pulumi_cortecs.testing.fake`` prints them, and the fake holds a running ``instance-12345``;
  a snippet that fakes the API in-process (``mock_api``) gets no exports, since it serves the
  default URL;
- shell runs in bash with ``-e`` in a clean environment, with this environment's ``python``
  first on PATH, in its own process group that is killed afterwards.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi_cortecs.testing import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.engine import ProviderProcess, program_inputs
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer, ManualClock

from tests import LLAMA_ID, PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
SKIP = re.compile(r"^<!-- snippet: skip \((.+)\) -->$")
CLEAN = ("CORTECS_", "OPENAI_", "PULUMI_")
PYTHON_BIN = str(Path(sys.executable).parent)


@dataclass(frozen=True)
class Snippet:
    line: int
    language: str
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"README.md:{self.line}-{self.language}"

    @property
    def is_pulumi_program(self) -> bool:
        return self.language == "python" and "pulumi.export(" in self.code

    @property
    def is_pytest_module(self) -> bool:
        return self.language == "python" and re.search(r"^def test_", self.code, re.M) is not None


def snippets() -> list[Snippet]:
    text = README.read_text()
    found = []
    for match in FENCE.finditer(text):
        language = match[1]
        if language not in ("bash", "python"):
            continue  # untagged blocks are output or synopses, not something to run
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.match(before)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Snippet(line, language, match[2], skip[1] if skip else None))
    return found


SNIPPETS = snippets()


def of_kind(kind: str) -> list[Any]:
    chosen = {
        "program": [s for s in SNIPPETS if s.is_pulumi_program],
        "pytest": [s for s in SNIPPETS if s.is_pytest_module],
        "python": [
            s
            for s in SNIPPETS
            if s.language == "python" and not (s.is_pulumi_program or s.is_pytest_module)
        ],
        "bash": [s for s in SNIPPETS if s.language == "bash"],
    }[kind]
    return [pytest.param(s, id=s.id) for s in chosen]


def skip_if_marked(snippet: Snippet) -> None:
    if snippet.skip:
        pytest.skip(f"{snippet.id}: {snippet.skip}")


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN)}
    env["PATH"] = f"{PYTHON_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def test_the_readme_has_snippets_of_every_kind_and_few_skips() -> None:
    assert len(of_kind("program")) >= 1
    assert len(of_kind("python")) >= 2
    assert len(of_kind("bash")) >= 2
    # Skipping is the exception: the reasons are read by people, so they must say why.
    for snippet in SNIPPETS:
        if snippet.skip:
            assert len(snippet.skip) > 15, snippet.id
    assert sum(1 for s in SNIPPETS if s.skip) <= 4


def test_the_readme_program_is_examples_minimal() -> None:
    (program,) = [s for s in SNIPPETS if s.is_pulumi_program]
    example = (PROJECT_ROOT / "examples" / "minimal" / "__main__.py").read_text()
    assert example.endswith(program.code)


@pytest.mark.engine
@pytest.mark.parametrize("snippet", of_kind("program"))
def test_pulumi_program_snippets(
    snippet: Snippet, cortecs_engine: ProviderProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    skip_if_marked(snippet)
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))

    def declare() -> list[pulumi.Resource]:
        namespace: dict[str, Any] = {"__name__": "__main__"}
        exec(compile(snippet.code, snippet.id, "exec"), namespace)
        return [v for v in namespace.values() if isinstance(v, pulumi.Resource)]

    declared = program_inputs(declare)
    assert declared
    assert exports
    for name, inputs in declared.items():
        _, failures = cortecs_engine.check(inputs)
        assert failures == [], f"{name}: {failures}"


@pytest.fixture
def local_api() -> Iterator[FakeServer]:
    """The local API, holding a running instance-12345 (the id the README's examples use); the
    instances a snippet starts run at once (its clock stands still)."""
    clock = ManualClock(start=time.time())
    backend = FakeBackend(clock=clock, step_seconds=0.0)
    backend._instance_numbers = itertools.count(12345)  # the id the README uses
    backend.start(model_id=LLAMA_ID)
    clock.advance(3600)
    with FakeServer(backend) as server:
        yield server


@pytest.mark.parametrize("snippet", of_kind("python"))
def test_python_snippets(snippet: Snippet, local_api: FakeServer, tmp_path: Path) -> None:
    skip_if_marked(snippet)
    if "mock_api(" in snippet.code:
        env = clean_environment()
    else:
        env = clean_environment(
            CORTECS_API_BASE_URL=local_api.api_base_url,
            CORTECS_CLIENT_ID=DEMO_CLIENT_ID,
            CORTECS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
            CORTECS_API_KEY=DEMO_API_KEY,
            # A snippet that starts an instance journals and leases it here, not in the home.
            CORTECS_JOURNAL_DIR=str(tmp_path / "journal"),
        )
    done = subprocess.run(
        [sys.executable, "-c", snippet.code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{snippet.id} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("snippet", of_kind("pytest"))
def test_pytest_snippets(snippet: Snippet, tmp_path: Path) -> None:
    """Run as a user's test module: the fixtures come from the installed plugin alone."""
    skip_if_marked(snippet)
    module = tmp_path / "test_snippet.py"
    module.write_text(snippet.code)
    defined = len(re.findall(r"^def test_", snippet.code, re.M))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", module.name],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{snippet.id} failed:\n{done.stdout}\n{done.stderr}"
    assert f"{defined} passed" in done.stdout


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("snippet", of_kind("bash"))
def test_shell_snippets(snippet: Snippet, tmp_path: Path) -> None:
    skip_if_marked(snippet)
    for port in map(int, re.findall(r"--port (\d+)", snippet.code)):
        if port and not port_is_free(port):
            pytest.skip(f"{snippet.id} uses port {port}, which something else holds now")
    process = subprocess.Popen(
        ["bash", "-e", "-c", snippet.code],
        cwd=tmp_path,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its background jobs too are ended below, whatever happens
    )
    try:
        out, err = process.communicate(timeout=180)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, f"{snippet.id} failed:\n{out}\n{err}"
