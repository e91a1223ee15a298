"""Tables that fit the terminal: abbreviate, then drop, then cut; the wide view shows everything.

The engine on small tables, then the CLI's own tables at 80 columns (``COLUMNS``) against the
in-process fake.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from pulumi_cortecs import Client, InstanceArgs
from pulumi_cortecs.cli import _main as cli
from pulumi_cortecs.cli._rows import InstanceRow
from pulumi_cortecs.cli._tables import Cell, Column, Layout, format_table
from pulumi_cortecs.cli._views import instances_table
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock
from pulumi_cortecs.testing.fake.catalog import MODELS
from pulumi_cortecs.testing.processes import CREDENTIAL_VARIABLES

from tests import LLAMA, LLAMA_ID, PROJECT_ROOT

Run = Callable[..., tuple[int, str, str]]
"""Runs the CLI in-process: ``run(*argv, stdin="...")`` gives its exit code, stdout and stderr."""

NAME = Column("NAME", shrink=2, min_width=6)
KIND = Column("KIND", shrink=1, drop=2)
NOTE = Column("NOTE", drop=1)
EXTRA = Column("EXTRA", wide=True)
ROWS: list[list[Cell]] = [
    [("org/a-long-name", "a-long-name"), ("NVIDIA_L4_1", "L4_1"), "a note", "x"],
    [("org/b", "b"), ("NVIDIA_H100_2", "H100_2"), "-", "y"],
]


def lines(table: str) -> list[str]:
    return table.splitlines()


def test_without_a_width_every_default_column_is_whole() -> None:
    assert lines(format_table([NAME, KIND, NOTE, EXTRA], ROWS)) == [
        "NAME             KIND           NOTE",
        "org/a-long-name  NVIDIA_L4_1    a note",
        "org/b            NVIDIA_H100_2  -",
    ]


def test_columns_are_abbreviated_in_their_order_and_alike_in_every_row() -> None:
    table = lines(format_table([NAME, KIND, NOTE, EXTRA], ROWS, Layout(width=33)))
    assert table == [
        "NAME             KIND    NOTE",
        "org/a-long-name  L4_1    a note",
        "org/b            H100_2  -",
    ]
    table = lines(format_table([NAME, KIND, NOTE, EXTRA], ROWS, Layout(width=28)))
    # NAME is abbreviated too, and so in both rows, although "org/b" would fit.
    assert table == [
        "NAME         KIND    NOTE",
        "a-long-name  L4_1    a note",
        "b            H100_2  -",
    ]


def test_columns_are_dropped_before_any_cell_is_cut() -> None:
    table = lines(format_table([NAME, KIND, NOTE, EXTRA], ROWS, Layout(width=20)))
    assert table == [
        "NAME         KIND",
        "a-long-name  L4_1",
        "b            H100_2",
    ]
    table = lines(format_table([NAME, KIND, NOTE, EXTRA], ROWS, Layout(width=12)))
    assert table == ["NAME", "a-long-name", "b"]


def test_cells_are_cut_only_when_dropping_is_not_enough() -> None:
    table = lines(format_table([NAME, KIND, NOTE, EXTRA], ROWS, Layout(width=7)))
    assert table == ["NAME", "a-long…", "b"]
    # Never narrower than min_width: a terminal narrower than that wraps.
    assert lines(format_table([NAME], [ROWS[0][:1]], Layout(width=3))) == ["NAME", "a-lon…"]


PENDING_ROW = InstanceRow(
    instance_id="instance-1",
    model_id=LLAMA_ID,
    model_name=LLAMA,
    hardware_type_id="NVIDIA_L4_1",
    context_length=8000,
    billing_interval="per_minute",
    num_workers=1,
    status="pending",
    current_step=3,
    num_steps=5,
    step_description="Downloading weights",
    started_at=None,
    stopped_at=None,
    age_seconds=42,
    base_url="http://127.0.0.1:8712/serve/instance-1/v1",
    price_per_hour=0.89,
    currency="EUR",
    estimated_cost_per_hour=0.89,
    cost_per_hour_running=0.89,
    cost_since_start=None,
)
INSTANCE_HEADERS = ("INSTANCE ID", "MODEL", "HARDWARE", "STATUS", "AGE", "PRICE/HOUR", "BASE URL")


def test_a_narrowing_instances_table_goes_as_the_readme_says() -> None:
    """Abbreviations in the README's order, then columns dropped in its order, never one back,
    and no cell cut while a column could still go."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    said = re.search(r"then ((?:`[A-Z/ ]+`,? (?:and )?)+)go, in that order", readme)
    assert said, "the README no longer says in which order columns go"
    droppable = re.findall(r"`([A-Z/ ]+)`", said[1])
    abbreviated = {"NVIDIA_L4_1": "hardware", "Downloading": "status", "meta-llama/": "model"}
    shown, dropped, abbreviations = set(INSTANCE_HEADERS), [], []
    for width in range(200, 20, -1):
        header, cells = lines(instances_table([PENDING_ROW], Layout(width=width)))
        now = {name for name in INSTANCE_HEADERS if name in header}
        assert not now - shown, f"{now - shown} came back at {width} columns"
        dropped += [name for name in droppable if name in shown - now]
        shown = now
        if "…" in cells:
            assert not shown & set(droppable), f"cut at {width} columns with {shown}"
        abbreviations += [
            what
            for text, what in abbreviated.items()
            if text not in cells and what not in abbreviations
        ]
    assert dropped == droppable == ["BASE URL", "HARDWARE", "AGE", "PRICE/HOUR"]
    assert abbreviations == ["hardware", "status", "model"]
    assert (
        "hardware\n  drops its `NVIDIA_` prefix, then a pending status its step's words, then model"
        in readme
    )


def test_the_wide_view_shows_every_column_whole_whatever_the_width() -> None:
    table = lines(format_table([NAME, KIND, NOTE, EXTRA], ROWS, Layout(width=20, wide=True)))
    assert table == [
        "NAME             KIND           NOTE    EXTRA",
        "org/a-long-name  NVIDIA_L4_1    a note  x",
        "org/b            NVIDIA_H100_2  -       y",
    ]


def test_an_indent_counts_towards_the_width() -> None:
    table = lines(format_table([NAME, KIND, NOTE], ROWS, Layout(width=30), indent="  "))
    assert table[0] == "  NAME         KIND    NOTE"
    assert all(len(line) <= 30 for line in table)


# the CLI's tables at 80 columns


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cortecs_mock: FakeBackend,
    cortecs_clock: ManualClock,
) -> Run:
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CORTECS_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", DEMO_CLIENT_SECRET)

    def now() -> datetime:
        return datetime.fromtimestamp(cortecs_clock(), timezone.utc)

    def run_cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        code = cli.main(list(argv), now=now, stdin=Terminal(stdin))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_cli


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def some_instances(cortecs_mock: FakeBackend, cortecs_clock: ManualClock) -> list[str]:
    """Running ones (with their long base URLs), a booting one, one with two workers."""
    cortecs_mock.step_seconds = 10.0
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET) as client:
        ids = [
            client.start(InstanceArgs(model_id=model["hf_name"])).instance_id for model in MODELS
        ]
        ids.append(
            client.start(InstanceArgs(model_id=MODELS[2]["hf_name"], num_workers=2)).instance_id
        )
        cortecs_clock.advance(3600)
        ids.append(client.start(InstanceArgs(model_id=MODELS[1]["hf_name"])).instance_id)
        cortecs_clock.advance(25)
    return ids


@pytest.mark.parametrize("command", ["models", "hardware", "instances"])
@pytest.mark.usefixtures("some_instances")
def test_tables_fit_80_columns(run: Run, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(command)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out  # abbreviated and dropped, but nothing cut


@pytest.mark.usefixtures("some_instances")
def test_instances_at_80_columns_keep_what_matters(
    run: Run, monkeypatch: pytest.MonkeyPatch, some_instances: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run("instances")
    header, *rows = out.splitlines()
    # Model names lose their org, statuses their step's words; the base URL and then the
    # hardware go (they are in --wide and --json); the price and the age stay.
    assert header.split() == ["INSTANCE", "ID", "MODEL", "STATUS", "AGE", "PRICE/HOUR"]
    assert [row.split()[0] for row in rows] == some_instances
    booting = rows[-1]
    assert "Mistral-Small-24B-Instruct-2501" in booting
    assert " pending 3/5 " in booting
    assert "14.36 EUR" in rows[-2]  # two workers at 7.18


def test_instances_wide_shows_everything(
    run: Run, monkeypatch: pytest.MonkeyPatch, some_instances: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run("instances", "--wide")
    header, *rows = out.splitlines()
    for column in ("WORKERS", "CONTEXT", "BILLING", "STARTED AT", "BASE URL"):
        assert column in header
    assert re.search(r" meta-llama/Meta-Llama-3\.1-8B-Instruct +NVIDIA_L4_1 ", rows[0])
    assert f"https://cortecs.ai/serve/{some_instances[0]}/v1" in rows[0]
    assert "pending 3/5 Downloading weights" in rows[-1]
    assert max(len(line) for line in rows) > 80


@pytest.mark.usefixtures("some_instances")
def test_piped_output_keeps_the_default_columns_whole(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = run("instances")
    assert "BASE URL" in out.splitlines()[0]
    assert "WORKERS" not in out
    assert "meta-llama/Meta-Llama-3.1-8B-Instruct" in out


def test_a_confirmation_fits_80_columns(
    run: Run, monkeypatch: pytest.MonkeyPatch, some_instances: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, _, err = run("delete", *some_instances, stdin="n\n")
    assert code == 1
    listed = err.split("[y/N]")[0].splitlines()
    assert max(len(line) for line in listed) <= 80
    assert listed[0].startswith("About to delete 6 instances. This cannot be undone.")
    for instance_id in some_instances:
        line = next(line for line in listed if line.startswith(f"  {instance_id} "))
        assert "EUR" in line  # every instance with its price, none dropped
