"""Parallel provisioning: sixteen Create RPCs at once through ONE ``python -m pulumi.dynamic``.

Each create runs the whole path (start, wait for running, one-token readiness probe with the
demo API key) against the fake in its own process. The row is the wall time of sixteen
parallel creates divided by one create's time, measured in the same provider process; the
baseline is the same against a provider process whose server keeps the SDK's four threads
(``CORTECS_SERVER_THREADS=4``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from pulumi_cortecs import ManagedInstance
from pulumi_cortecs.testing.engine import ProviderProcess, program_inputs
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env, start_fake_api

from ._common import Row, creating

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
PARALLEL = 16


def _declared() -> dict[str, dict[str, Any]]:
    return program_inputs(
        lambda: [
            ManagedInstance(f"llm{i}", model_id=MODEL, readiness_probe=True, adopt_existing=False)
            for i in range(PARALLEL + 1)
        ]
    )


def _measure(
    fake: FakeApiProcess, declared: dict[str, dict[str, Any]], threads: str
) -> tuple[float, float]:
    """(one create's seconds, sixteen parallel creates' seconds) in one provider process."""
    with tempfile.TemporaryDirectory() as tmp:
        env = provider_env(Path(tmp), CORTECS_SERVER_THREADS=threads)
        provider = ProviderProcess(env=env)
        try:
            provider.configure(fake.stack_config())
            checked = []
            for news in declared.values():
                inputs, failures = provider.check(news)
                assert not failures, failures
                checked.append(inputs)
            began = time.monotonic()
            provider.create(checked[0])
            one = time.monotonic() - began
            with creating(provider.create, checked[1:]) as began:
                pass
            many = time.monotonic() - began
        finally:
            provider.close()
    fake.reset()
    return one, many


def run(*, step_seconds: float) -> list[Row]:
    declared = _declared()
    with start_fake_api("--step-seconds", str(step_seconds)) as fake:
        one, many = _measure(fake, declared, "64")
        naive_one, naive_many = _measure(fake, declared, "4")
    ours, naive = many / one, naive_many / naive_one
    name = f"2. parallel 16 creates, 5x{step_seconds:g} s, probe on"
    return [
        Row(name, "one create", one, naive_one, "s", "", None),
        Row(name, "16 in parallel", many, naive_many, "s", "", None),
        Row(
            name,
            "16 parallel / one create",
            ours,
            naive,
            "",
            "<= 1.3 (naive ~4)",
            ours <= 1.3,
        ),
    ]
