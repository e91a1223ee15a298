"""How each kind of row reads as a table."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_cortecs.cli._rows import HardwareRow, InstanceRow, ModelRow
from pulumi_cortecs.cli._tables import Column, cell, format_age, format_context, format_table

RECOMMENDED_MARK = "*"


def format_step(row: InstanceRow) -> str:
    """``3/5 Downloading weights``; ``-`` when the API gives no progress (stopped)."""
    if row.current_step is None:
        return "-"
    return f"{row.current_step}/{row.num_steps} {row.step_description or ''}".rstrip()


def models_table(rows: Sequence[ModelRow]) -> str:
    if not rows:
        return "No models.\n"
    columns = [
        Column("MODEL ID"),
        Column("HF NAME"),
        Column("HARDWARE"),
        Column("MAX CONTEXT", right=True),
    ]
    table: list[list[str]] = []
    for row in rows:
        if not row.hardware:
            table.append([row.model_id, row.hf_name, "-", "-"])
        for index, fit in enumerate(row.hardware):
            mark = f" {RECOMMENDED_MARK}" if fit.recommended else ""
            table.append(
                [
                    row.model_id if index == 0 else "",
                    row.hf_name if index == 0 else "",
                    fit.hardware_type_id + mark,
                    format_context(fit.max_context_length),
                ]
            )
    return format_table(columns, table) + f"\n{RECOMMENDED_MARK} recommended hardware\n"


def hardware_table(rows: Sequence[HardwareRow]) -> str:
    if not rows:
        return "No hardware types.\n"
    columns = [
        Column("HARDWARE"),
        Column("GPU"),
        Column("GPUS", right=True),
        Column("VRAM", right=True),
        Column("PRICE/HOUR", right=True),
        Column("AVAILABLE"),
    ]
    table = [
        [
            row.hardware_type_id,
            cell(row.gpu),
            cell(row.gpu_count),
            "-" if row.vram_gb is None else f"{row.vram_gb} GB",
            f"{row.price_per_hour:.2f} {row.currency}",
            "yes" if row.available else "no",
        ]
        for row in rows
    ]
    return format_table(columns, table)


def instances_table(rows: Sequence[InstanceRow]) -> str:
    if not rows:
        return "No instances.\n"
    columns = [
        Column("INSTANCE ID"),
        Column("MODEL"),
        Column("HARDWARE"),
        Column("STATUS"),
        Column("STEP"),
        Column("AGE", right=True),
        Column("BASE URL"),
    ]
    table = [
        [
            row.instance_id,
            row.model_name,
            cell(row.hardware_type_id),
            row.status,
            format_step(row),
            format_age(row.age_seconds),
            cell(row.base_url),
        ]
        for row in rows
    ]
    return format_table(columns, table)
