"""Start latency: how soon sixteen creates through ONE provider process have all sent their
start request, against an API that takes 200 ms to answer every call.

No lock is held across the network (starts tell their instances apart through the journal), so
sixteen creates should send their starts about as soon as one does. The baseline is one create
alone, in the same provider process, same run: the time from its Create RPC to the fake
receiving its start. Times are read by polling the fake's admin endpoint (which has no latency)
every 10 ms.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pulumi_cortecs import ManagedInstance
from pulumi_cortecs.testing.engine import ProviderProcess, program_inputs
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env, start_fake_api

from ._common import Row, creating, until

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"
PARALLEL = 16
API_LATENCY = 0.2


def _time_to_starts(
    fake: FakeApiProcess, provider: ProviderProcess, checked: list[dict[str, Any]]
) -> float:
    """Seconds from sending the creates to the fake having received all their starts."""
    fake.reset()
    fake.faults(latency=API_LATENCY)
    with creating(provider.create, checked) as began:
        return until(lambda: fake.state()["starts"] >= len(checked), began)


def declared_creates() -> dict[str, dict[str, Any]]:
    """One create, then sixteen: instances without the readiness probe."""
    return program_inputs(
        lambda: [
            ManagedInstance(f"llm{i}", model_id=MODEL, readiness_probe=False)
            for i in range(PARALLEL + 1)
        ]
    )


def run() -> list[Row]:
    declared = declared_creates()
    with (
        start_fake_api("--step-seconds", "0.05") as fake,
        tempfile.TemporaryDirectory() as home,
    ):
        provider = ProviderProcess(env=provider_env(Path(home)))
        try:
            provider.configure(fake.stack_config())
            checked = [provider.check(news)[0] for news in declared.values()]
            one = _time_to_starts(fake, provider, checked[:1])
            many = _time_to_starts(fake, provider, checked[1:])
        finally:
            provider.close()
    name = f"6. starts, {PARALLEL} creates, API latency {API_LATENCY * 1000:.0f} ms"
    return [
        Row(name, f"all {PARALLEL} starts sent", many, one, "s", "<= 2 s", many <= 2.0),
    ]
