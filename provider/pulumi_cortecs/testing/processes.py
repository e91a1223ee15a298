"""The fake API as a separate process (``python -m pulumi_cortecs.testing.fake``), as tests, the
soak runner and the benchmarks use it, and the demo credentials it accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from pulumi_cortecs._journal import Journal
from pulumi_cortecs._store import DirectoryStore, default_directory, open_store
from pulumi_cortecs.testing.fake import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

DEMO_CONFIG = {
    "cortecs:clientId": DEMO_CLIENT_ID,
    "cortecs:clientSecret": DEMO_CLIENT_SECRET,
    "cortecs:apiKey": DEMO_API_KEY,
}
CREDENTIAL_VARIABLES = (
    "CORTECS_CLIENT_ID",
    "CORTECS_CLIENT_SECRET",
    "CORTECS_API_BASE_URL",
    "CORTECS_API_KEY",
    "OPENAI_API_KEY",
)


@dataclass
class FakeApiProcess:
    """``python -m pulumi_cortecs.testing.fake`` in its own process, and its admin endpoints."""

    process: subprocess.Popen[bytes]
    api_base_url: str

    @property
    def _admin(self) -> str:
        return self.api_base_url.removesuffix("/api/v1") + "/_fake"

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.post(f"{self._admin}{path}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self._post("/reset")

    def state(self) -> dict[str, Any]:
        response = httpx.get(f"{self._admin}/state", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def instances(self) -> list[dict[str, Any]]:
        return list(self.state()["instances"])

    def faults(self, **body: Any) -> None:
        self._post("/faults", body)

    def configure(self, **body: Any) -> None:
        self._post("/config", body)

    def add_foreign_instance(self, instance_args: dict[str, Any], **body: Any) -> str:
        """Add an instance someone else started (``status``, ``extra``: see the admin API)."""
        added = self._post("/instances", {"instance_args": instance_args, **body})
        return str(added["instance_id"])

    def stop_instance(self, instance_id: str) -> None:
        self._post(f"/instances/{instance_id}/stop")

    def delete_instance(self, instance_id: str) -> None:
        httpx.delete(f"{self._admin}/instances/{instance_id}", timeout=10).raise_for_status()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> FakeApiProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stack_config(self, **extra: Any) -> dict[str, Any]:
        """The whole config of a dev stack, as the engine passes it: every namespace."""
        return {
            **DEMO_CONFIG,
            "cortecs:apiBaseUrl": self.api_base_url,
            "cortecs-instances:instances": '{"chat": {"model_id": "org/model"}}',
            **extra,
        }


def without_credentials(**extra: str) -> dict[str, str]:
    """This process's environment with no credentials in it, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_VARIABLES}
    env.update(extra)
    return env


def provider_env(home: Path, journal_url: str | None = None, **extra: str) -> dict[str, str]:
    """A provider process's environment on a machine whose user's home is ``home`` (where its
    journal lives by default, unless ``journal_url`` names a journal in S3 that runners share),
    with no credentials but those the test configures."""
    if journal_url is not None:
        extra["CORTECS_JOURNAL_URL"] = journal_url
    env = without_credentials(HOME=str(home), **extra)
    for variable in ("XDG_STATE_HOME", "CORTECS_JOURNAL_DIR", "CORTECS_JOURNAL_URL"):
        if variable not in extra:
            env.pop(variable, None)
    return env


def journal_directory(home: Path) -> Path:
    """Where a provider process started with :func:`provider_env` keeps its journal."""
    return default_directory({"HOME": str(home)})


def journaled_instances(home: Path, journal_url: str | None = None) -> set[str]:
    """The instances the journal under ``home`` (or at ``journal_url``) still keeps: started
    (or maybe started) for a resource, and not handed to its stack."""
    store = open_store(journal_url) if journal_url else DirectoryStore(journal_directory(home))
    records = Journal(store).all_entries()
    return {id_ for _, entry in records if entry.pending for id_ in entry.owned()}


def start_fake_api(*args: str) -> FakeApiProcess:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi_cortecs.testing.fake", "--port", "0", *args],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    return FakeApiProcess(process, process.stdout.readline().decode().strip())
