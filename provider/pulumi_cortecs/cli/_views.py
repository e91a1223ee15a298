"""How each kind of row reads as a table: its columns, and what a narrow terminal may shorten
(see ``_tables``). The wide view shows every column, whole."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_cortecs.cli._rows import (
    CostRow,
    HardwareRow,
    InstanceRow,
    ModelRow,
    OrphanRow,
    OutcomeRow,
    ReapRow,
)
from pulumi_cortecs.cli._tables import (
    Cell,
    Column,
    Layout,
    cell,
    format_age,
    format_context,
    format_price,
    format_table,
)

RECOMMENDED_MARK = "*"


def model_name_cell(name: str) -> Cell:
    """``org/model``, abbreviated to ``model``."""
    short = name.rsplit("/", 1)[-1]
    return (name, short) if short != name else name


def hardware_cell(hardware_type_id: str | None, suffix: str = "") -> Cell:
    """``NVIDIA_L4_1``, abbreviated to ``L4_1``."""
    if hardware_type_id is None:
        return "-"
    short = hardware_type_id.removeprefix("NVIDIA_")
    full = hardware_type_id + suffix
    return (full, short + suffix) if short != hardware_type_id else full


def state_cell(row: InstanceRow) -> Cell:
    """``pending 3/5 Downloading weights``, abbreviated to ``pending 3/5``."""
    if row.state == row.status:
        return row.status
    return (row.state, f"{row.status} {row.current_step}/{row.num_steps}")


def format_step(row: InstanceRow) -> str:
    """``3/5 Downloading weights``; ``-`` when the API gives no progress (stopped)."""
    return row.progress or "-"


def models_table(rows: Sequence[ModelRow], layout: Layout) -> str:
    if not rows:
        return "No models.\n"
    columns = [
        Column("MODEL ID", wide=True),
        # One name by default: the HF name, which the provider and the endpoint both take.
        Column("HF NAME" if layout.wide else "MODEL", shrink=2, min_width=16),
        Column("NAME", wide=True),
        Column("CREATOR", wide=True),
        Column("SIZE", right=True, wide=True),
        Column("INSTANT", wide=True),
        Column("HARDWARE", shrink=1),
        Column("MAX CONTEXT", right=True),
    ]
    table: list[list[Cell]] = []
    for row in rows:
        first: list[Cell] = [
            row.model_id,
            _model_cell(row, wide=layout.wide),
            cell(row.screen_name),
            cell(row.creator),
            cell(row.size),
            "yes" if row.instant_provisioned else "no",
        ]
        blank: list[Cell] = [""] * len(first)
        if not row.hardware:
            table.append([*first, "-", "-"])
        for index, fit in enumerate(row.hardware):
            mark = f" {RECOMMENDED_MARK}" if fit.recommended else ""
            table.append(
                [
                    *(first if index == 0 else blank),
                    hardware_cell(fit.hardware_type_id, mark),
                    format_context(fit.max_context_length),
                ]
            )
    return format_table(columns, table, layout) + f"\n{RECOMMENDED_MARK} recommended hardware\n"


def _model_cell(row: ModelRow, *, wide: bool) -> Cell:
    if wide or row.hf_name.replace("/", "--") == row.model_id:
        return model_name_cell(row.hf_name)
    # The id is not the HF name spelled the API's way: show both, the id first (the API's).
    return f"{row.model_id} ({row.hf_name})"


def hardware_table(rows: Sequence[HardwareRow], layout: Layout) -> str:
    if not rows:
        return "No hardware types.\n"
    columns = [
        Column("HARDWARE"),
        Column("GPU", shrink=1, min_width=8),
        Column("GPUS", right=True),
        Column("VRAM", right=True),
        Column("PRICE/HOUR", right=True),
        Column("PRICE/MINUTE", right=True, wide=True),
        Column("AVAILABLE"),
        Column("HARDWARE INFO", wide=True),
    ]
    table: list[list[Cell]] = [
        [
            row.hardware_type_id,
            _gpu_cell(row.gpu),
            cell(row.gpu_count),
            "-" if row.vram_gb is None else f"{row.vram_gb} GB",
            format_price(row.price_per_hour, row.currency),
            f"{row.price_per_minute:.4f} {row.currency}",
            "yes" if row.available else "no",
            " ".join(f"{key}={value}" for key, value in row.hardware_info.items()) or "-",
        ]
        for row in rows
    ]
    return format_table(columns, table, layout)


def _gpu_cell(gpu: object) -> Cell:
    text = cell(gpu)
    short = text.removeprefix("NVIDIA ")
    return (text, short) if short != text else text


def instance_columns() -> list[Column]:
    return [
        Column("INSTANCE ID"),
        Column("MODEL", shrink=3, min_width=16),
        Column("HARDWARE", shrink=1, min_width=6, drop=2),
        Column("WORKERS", right=True, wide=True),
        Column("CONTEXT", right=True, wide=True),
        Column("BILLING", wide=True),
        Column("STATUS", shrink=2, min_width=7),
        Column("AGE", right=True, drop=3),
        Column("PRICE/HOUR", right=True, drop=4),
        Column("COST", right=True, drop=0),
        Column("STARTED AT", wide=True),
        Column("BASE URL", drop=1),
    ]


def instance_cells(row: InstanceRow) -> list[Cell]:
    return [
        row.instance_id,
        model_name_cell(row.model_name),
        hardware_cell(row.hardware_type_id),
        cell(row.num_workers),
        format_context(row.context_length),
        cell(row.billing_interval),
        state_cell(row),
        format_age(row.age_seconds),
        format_price(row.estimated_cost_per_hour, row.currency),
        format_price(row.cost_since_start, row.currency),
        cell(row.started_at),
        cell(row.base_url),
    ]


def instances_table(rows: Sequence[InstanceRow], layout: Layout) -> str:
    """Price per hour is the instance's: the hardware's times its workers, 0 while stopped;
    cost is since its last start."""
    if not rows:
        return "No instances.\n"
    return format_table(instance_columns(), [instance_cells(row) for row in rows], layout)


def confirmation_table(rows: Sequence[InstanceRow], layout: Layout) -> str:
    """The instances a stop or delete is about to act on, as its confirmation lists them."""
    columns = instance_columns()
    keep = {"INSTANCE ID", "MODEL", "HARDWARE", "STATUS", "PRICE/HOUR"}
    # Never dropped here: these are what the user confirms.
    columns = [Column(c.header, c.right, shrink=c.shrink, min_width=c.min_width) for c in columns]
    picked = [i for i, column in enumerate(columns) if column.header in keep]
    table = [[instance_cells(row)[i] for i in picked] for row in rows]
    return format_table(
        [columns[i] for i in picked], table, Layout(layout.width, wide=False), indent="  "
    )


def outcomes_table(rows: Sequence[OutcomeRow], layout: Layout) -> str:
    if not rows:
        return "Nothing to do.\n"
    columns = [
        Column("INSTANCE ID"),
        Column("MODEL", shrink=2, min_width=16),
        Column("HARDWARE", shrink=1, min_width=6, drop=1),
        Column("WAS"),
        Column("OUTCOME"),
    ]
    table: list[list[Cell]] = [
        [
            row.instance_id,
            model_name_cell(row.model_name),
            hardware_cell(row.hardware_type_id),
            row.status_before,
            row.outcome,
        ]
        for row in rows
    ]
    return format_table(columns, table, layout)


def orphans_table(rows: Sequence[OrphanRow], layout: Layout) -> str:
    """The orphans, then what to do about each (the advice is too long for a column)."""
    if not rows:
        return "No orphans: every instance a journal recorded is in a stack's state.\n"
    columns = [
        Column("INSTANCE ID"),
        Column("OWNER", shrink=2, min_width=16),
        Column("RECORD"),
        Column("STATUS"),
        Column("AGE", right=True),
        Column("PRICE/HOUR", right=True, drop=1),
    ]
    table: list[list[Cell]] = [
        [
            row.instance_id or "?",
            row.owner,
            row.record,
            row.status or "-",
            format_age(row.age_seconds),
            format_price(row.estimated_cost_per_hour, row.currency),
        ]
        for row in rows
    ]
    advice = "".join(f"{row.instance_id or row.owner}: {row.clean}\n" for row in rows)
    return format_table(columns, table, layout) + "\n" + advice


def reap_table(rows: Sequence[ReapRow], layout: Layout) -> str:
    """What reap did, then why, for the leases it left or could not act on."""
    if not rows:
        return "Nothing to reap: no lease has run out.\n"
    columns = [
        Column("INSTANCE ID"),
        Column("OWNER", shrink=1, min_width=16),
        Column("ACTION"),
        Column("OUTCOME"),
        Column("COST", right=True),
    ]
    table: list[list[Cell]] = [
        [row.instance_id, row.owner, row.action, row.outcome, format_price(row.cost, row.currency)]
        for row in rows
    ]
    details = "".join(f"{row.instance_id}: {row.detail}\n" for row in rows if row.detail)
    return format_table(columns, table, layout) + (f"\n{details}" if details else "")


def cost_table(rows: Sequence[CostRow], layout: Layout) -> str:
    if not rows:
        return "No instances.\n"
    columns = [
        Column("OWNER", shrink=1, min_width=16),
        Column("INSTANCES", right=True),
        Column("NOT STOPPED", right=True),
        Column("COST/HOUR", right=True),
        Column("SINCE START", right=True),
    ]
    table: list[list[Cell]] = [
        [
            row.owner,
            str(row.instances),
            str(row.not_stopped),
            format_price(row.cost_per_hour, row.currency),
            format_price(row.cost_since_start, row.currency),
        ]
        for row in rows
    ]
    return format_table(columns, table, layout)
