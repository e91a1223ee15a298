"""Rows of the results table and the fake API in a subprocess."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


def until(condition: Callable[[], bool], began: float, poll: float = 0.01) -> float:
    """Seconds from ``began`` until ``condition`` holds, asked every ``poll`` seconds."""
    while not condition():
        time.sleep(poll)
    return time.monotonic() - began


@contextmanager
def creating(
    create: Callable[[dict[str, Any]], object], checked: Sequence[dict[str, Any]]
) -> Iterator[float]:
    """Every create sent at once, a thread each; yields when they were sent, and leaves once all
    have returned (raising the first failure)."""
    with ThreadPoolExecutor(max_workers=len(checked)) as pool:
        began = time.monotonic()
        futures = [pool.submit(create, props) for props in checked]
        yield began
        for future in futures:
            future.result()
