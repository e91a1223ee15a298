"""Preview cost: Check of twenty instances over two models through one provider process.

Ours: the provider's per-process catalog memo. Baseline: what a provider without it does,
a catalog lookup per resource (model detail + hardware list) with a fresh client each time.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from pulumi_cortecs import Client, ManagedInstance
from pulumi_cortecs.testing.engine import ProviderProcess, program_inputs
from pulumi_cortecs.testing.processes import provider_env, start_fake_api

from ._common import Row

MODELS = ("meta-llama/Meta-Llama-3.1-8B-Instruct", "microsoft/Phi-3.5-mini-instruct")
RESOURCES = 20


def _catalog_calls(calls: list[list[str]]) -> int:
    return sum(1 for _, path in calls if path.startswith(("/api/v1/models", "/api/v1/hardware")))


def run() -> list[Row]:
    declared: dict[str, dict[str, Any]] = program_inputs(
        lambda: [
            ManagedInstance(f"llm{i}", model_id=MODELS[i % 2], readiness_probe=False)
            for i in range(RESOURCES)
        ]
    )
    with start_fake_api("--step-seconds", "1") as fake, tempfile.TemporaryDirectory() as tmp:
        provider = ProviderProcess(env=provider_env(Path(tmp)))
        try:
            provider.configure(fake.stack_config())
            fake.reset()
            began = time.monotonic()
            for news in declared.values():
                _, failures = provider.check(news)
                assert not failures, failures
            ours_time = time.monotonic() - began
        finally:
            provider.close()
        state = fake.state()
        ours_catalog, ours_calls = _catalog_calls(state["calls"]), len(state["calls"])

        fake.reset()
        began = time.monotonic()
        for news in declared.values():
            with Client("demo-client-id", "demo-client-secret", fake.api_base_url) as client:
                client.authenticate()
                client.get_model(news["model_id"])
                client.list_hardware_types()
        base_time = time.monotonic() - began
        state = fake.state()
        base_catalog, base_calls = _catalog_calls(state["calls"]), len(state["calls"])

    name = "4. preview 20 instances / 2 models"
    return [
        Row(
            name,
            "catalog calls",
            ours_catalog,
            base_catalog,
            "calls",
            "once per model per process (<= 3)",
            ours_catalog <= len(MODELS) + 1,
        ),
        Row(name, "all API calls", ours_calls, base_calls, "calls", "", None),
        Row(name, "time for 20 Checks", ours_time, base_time, "s", "", None),
    ]
