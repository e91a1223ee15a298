"""Rows of the results table and the fake API in a subprocess."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = {
    "cortecs:clientId": "demo-client-id",
    "cortecs:clientSecret": "demo-client-secret",
    "cortecs:apiKey": "demo-api-key",
}
CREDENTIAL_VARIABLES = (
    "CORTECS_CLIENT_ID",
    "CORTECS_CLIENT_SECRET",
    "CORTECS_API_BASE_URL",
    "OPENAI_API_KEY",
)


@dataclass
class Row:
    """One line of the table. ``ratio`` is ours / baseline unless given."""

    section: str
    metric: str
    ours: float
    baseline: float | None
    unit: str
    goal: str
    met: bool | None
    note: str = ""
    ratio: float | None = None

    def ratio_text(self) -> str:
        ratio = self.ratio
        if ratio is None and self.baseline:
            ratio = self.ours / self.baseline
        return "" if ratio is None else f"{ratio:.2f}x"

    def cells(self) -> list[str]:
        baseline = "" if self.baseline is None else _num(self.baseline, self.unit)
        met = {True: "yes", False: "NO", None: "-"}[self.met]
        return [
            self.section,
            self.metric,
            _num(self.ours, self.unit),
            baseline,
            self.ratio_text(),
            self.goal,
            met,
        ]


HEADER = ["benchmark", "metric", "ours", "baseline", "ratio", "goal", "met"]


def _num(value: float, unit: str) -> str:
    if unit in ("", "requests", "calls", "bytes", "tokens", "connections"):
        text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    elif unit == "ms":
        text = f"{value:.0f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows: Sequence[Row]) -> str:
    cells = [HEADER, *[row.cells() for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any credentials, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    env.update(extra)
    return env


class FakeApi:
    """``python -m provider.fake`` in a subprocess, and its admin endpoints."""

    def __init__(self, step_seconds: float) -> None:
        command = [sys.executable, "-u", "-m", "provider.fake", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, "--step-seconds", str(step_seconds)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        self.api_base_url = self.process.stdout.readline().decode().strip()
        self._admin = self.api_base_url.removesuffix("/api/v1") + "/_fake"

    def state(self) -> dict[str, Any]:
        response = httpx.get(f"{self._admin}/state", timeout=30)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        httpx.post(f"{self._admin}/reset", json={}, timeout=30).raise_for_status()

    def stack_config(self) -> dict[str, Any]:
        return {**DEMO_CONFIG, "cortecs:apiBaseUrl": self.api_base_url}

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> FakeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
