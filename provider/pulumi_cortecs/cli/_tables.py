"""Plain-text tables that fit a width, and the cell formats they share.

A cell is a string, or a tuple of renderings, longest first (``("NVIDIA_L4_1", "L4_1")``).
To fit a width, a table abbreviates its ``shrink`` columns, one rendering at a time in their
``shrink`` order, and drops its ``drop`` columns, lowest first, as far as needed; only when
that is not enough does it cut cells (``…``), down to a column's ``min_width``, widest first.
``wide`` columns appear only in the wide view, which shows every cell whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Cell = str | tuple[str, ...]

SEPARATOR = "  "
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False
    """Right-aligned (numbers)."""
    wide: bool = False
    """Only in the wide view."""
    shrink: int | None = None
    """The order in which columns are abbreviated and cut to fit (1 first); ``None``: never."""
    min_width: int = 0
    """How narrow cutting may make a ``shrink`` column (never narrower than its header)."""
    drop: int | None = None
    """The order in which columns go when abbreviating is not enough, before any cell is cut
    (1 first); ``None``: never."""


@dataclass(frozen=True)
class Layout:
    """Where a table goes: ``width`` in characters (``None``: no limit), and whether to show
    the wide view."""

    width: int | None = None
    wide: bool = False


def format_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    layout: Layout | None = None,
    *,
    indent: str = "",
) -> str:
    """Aligned columns, two spaces apart; numbers right-aligned; no trailing spaces."""
    layout = layout or Layout()
    shown = [i for i, column in enumerate(columns) if layout.wide or not column.wide]
    width = None if layout.wide or layout.width is None else layout.width - len(indent)
    fitted = _Fitter(columns, rows).fit(shown, width)
    lines = []
    for index, cells in enumerate([[column.header for column in columns], *rows]):
        texts = []
        for i, size in fitted.widths.items():
            text = columns[i].header if index == 0 else _render(cells[i], size, fitted.levels[i])
            texts.append(text.rjust(size) if columns[i].right else text.ljust(size))
        lines.append((indent + SEPARATOR.join(texts)).rstrip())
    return "\n".join(lines) + "\n"


@dataclass
class _Fit:
    """The columns kept, in order, with their widths and how abbreviated each is (0: whole)."""

    widths: dict[int, int]
    levels: dict[int, int]

    @property
    def total(self) -> int:
        return _total(self.widths)


class _Fitter:
    def __init__(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> None:
        self.columns = columns
        self.rows = rows

    def fit(self, shown: list[int], width: int | None) -> _Fit:
        """What fits ``width``, if anything does.

        Abbreviating is preferred to dropping, and dropping to cutting: the most columns that
        fit whole (abbreviated) win; only if none do, every ``drop`` column is gone and cells
        are cut. So a narrower width never brings back a column a wider one dropped."""
        if width is None:
            return self._whole(shown)
        candidates = [list(shown)]
        droppable = sorted(
            (i for i in shown if self.columns[i].drop is not None),
            key=lambda i: self.columns[i].drop or 0,
        )
        for dropped in droppable:
            candidates.append([i for i in candidates[-1] if i != dropped])
        abbreviated = [self._abbreviate(self._whole(kept), width) for kept in candidates]
        for fit in abbreviated:
            if fit.total <= width:
                return fit
        return self._cut(abbreviated[-1], width)  # below the floors, a terminal wraps

    def _whole(self, kept: list[int]) -> _Fit:
        return _Fit({i: self._width(i, 0) for i in kept}, dict.fromkeys(kept, 0))

    def _abbreviate(self, fit: _Fit, width: int) -> _Fit:
        """Shorter renderings, one column and one step at a time, until the table fits."""
        fit = _Fit(dict(fit.widths), dict(fit.levels))
        order = sorted(
            (i for i in fit.widths if self.columns[i].shrink is not None),
            key=lambda i: self.columns[i].shrink or 0,
        )
        changed = True
        while changed and fit.total > width:
            changed = False
            for i in order:
                if fit.levels[i] + 1 < self._levels(i):
                    fit.levels[i] += 1
                    fit.widths[i] = self._width(i, fit.levels[i])
                    changed = True
                    if fit.total <= width:
                        break
        return fit

    def _levels(self, i: int) -> int:
        return max([1, *(len(_renderings(row[i])) for row in self.rows)])

    def _width(self, i: int, level: int) -> int:
        texts = (_rendering(row[i], level) for row in self.rows)
        return max([len(self.columns[i].header), *(len(text) for text in texts)])

    def _floors(self, fit: _Fit) -> dict[int, int]:
        floors = {}
        for i, current in fit.widths.items():
            column = self.columns[i]
            floor = max(column.min_width, len(column.header))
            floors[i] = current if column.shrink is None else min(current, floor)
        return floors

    def _cut(self, fit: _Fit, width: int) -> _Fit:
        """Take what is too much off the widest columns above their floors."""
        widths = dict(fit.widths)
        floors = self._floors(fit)
        excess = _total(widths) - width
        while excess > 0:
            slack = [i for i in widths if widths[i] > floors[i]]
            if not slack:
                break
            widest = max(slack, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
        return _Fit(widths, fit.levels)


def _total(widths: dict[int, int]) -> int:
    return sum(widths.values()) + len(SEPARATOR) * max(0, len(widths) - 1)


def _renderings(cell: Cell) -> tuple[str, ...]:
    return (cell,) if isinstance(cell, str) else cell


def _rendering(cell: Cell, level: int) -> str:
    renderings = _renderings(cell)
    return renderings[min(level, len(renderings) - 1)]


def _render(cell: Cell, width: int, level: int = 0) -> str:
    """The cell abbreviated to ``level``, cut to ``width`` (with ``…``) if it is still wider."""
    text = _rendering(cell, level)
    if len(text) <= width:
        return text
    return text[: max(0, width - len(ELLIPSIS))] + ELLIPSIS


def format_age(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h05m``, ``2d04h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_context(length: int | None) -> str:
    return "-" if length is None else f"{length:,}"


def format_price(amount: float | None, currency: str | None) -> str:
    """``0.89 EUR``; ``-`` when unknown."""
    if amount is None:
        return "-"
    return f"{amount:.2f} {currency or ''}".rstrip()


def cell(value: Any) -> str:
    """A value as a cell: ``-`` for nothing."""
    return "-" if value is None or value == "" else str(value)
