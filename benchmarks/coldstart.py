"""Cold start and footprint: import cost, serialized provider size, provider process start."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pulumi_cortecs import ManagedInstance
from pulumi_cortecs.testing.engine import ProviderProcess, program_inputs
from pulumi_cortecs.testing.processes import provider_env, start_fake_api

from ._common import PROJECT_ROOT, Row, median

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"

_IMPORT = """
import sys, time
t0 = time.perf_counter()
import pulumi
t1 = time.perf_counter()
import pulumi_cortecs
t2 = time.perf_counter()
from pulumi_cortecs import ManagedInstance
t3 = time.perf_counter()
heavy = [m for m in ("langchain", "langchain_openai", "openai") if m in sys.modules]
print(t1 - t0, t2 - t1, t3 - t2, ",".join(heavy))
"""


def _imports(repeats: int) -> list[Row]:
    pulumi_s, provider_s, resource_s = [], [], []
    heavy: set[str] = set()
    for _ in range(repeats):
        out = (
            subprocess.run(
                [sys.executable, "-c", _IMPORT], cwd=PROJECT_ROOT, capture_output=True, check=True
            )
            .stdout.decode()
            .split(" ")
        )
        pulumi_s.append(float(out[0]) * 1000)
        provider_s.append(float(out[1]) * 1000)
        resource_s.append(float(out[2]) * 1000)
        heavy.update(filter(None, out[3].strip().split(",")))
    name = f"3. cold start (median of {repeats})"
    base = median(pulumi_s)
    ours = median(provider_s)
    program = median(resource_s)
    return [
        Row(
            name,
            "`import pulumi_cortecs` after pulumi",
            ours,
            base,
            "ms",
            "<= 100 ms",
            ours <= 100,
            note="baseline: `import pulumi`",
        ),
        Row(
            name,
            "then `from pulumi_cortecs import ManagedInstance`",
            program,
            base,
            "ms",
            "(<= 100 ms)",
            program <= 100,
        ),
        Row(
            name,
            "langchain/openai modules after import",
            float(len(heavy)),
            None,
            "",
            "0",
            not heavy,
        ),
    ]


def _serialized_size() -> Row:
    inputs = program_inputs(lambda: [ManagedInstance("llm", model_id=MODEL)])["llm"]
    size = len(inputs["__provider"])
    return Row(
        "3. cold start",
        "serialized provider per resource",
        size,
        1024,
        "bytes",
        "<= 1 KB",
        size <= 1024,
    )


def _provider_start(repeats: int) -> list[Row]:
    """Popen to first Check answered (Configure included), against the SDK server's own start."""
    inputs = program_inputs(lambda: [ManagedInstance("llm", model_id=MODEL)])["llm"]
    ours, bare = [], []
    with start_fake_api("--step-seconds", "1") as fake, tempfile.TemporaryDirectory() as tmp:
        env = provider_env(Path(tmp))
        for _ in range(repeats):
            began = time.monotonic()
            provider = ProviderProcess(env=env)
            listening = time.monotonic() - began
            provider.configure(fake.stack_config())
            _, failures = provider.check(inputs)
            answered = time.monotonic() - began
            provider.close()
            assert not failures, failures
            ours.append(answered * 1000)
            bare.append(listening * 1000)
    value, base = median(ours), median(bare)
    return [
        Row(
            f"3. cold start (median of {repeats})",
            "process start to first Check answered",
            value,
            base,
            "ms",
            "",
            None,
        )
    ]


def run(*, repeats: int) -> list[Row]:
    return [*_imports(repeats), _serialized_size(), *_provider_start(max(3, repeats // 3))]
