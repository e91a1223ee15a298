"""The catalog CLI (`python -m pulumi_cortecs`): tables, JSON, exit codes and credential messages.

In-process against ``mock_api`` (a manual clock makes the instance lifecycle deterministic)
and as a subprocess against ``python -m pulumi_cortecs.testing.fake`` over HTTP.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import InstanceArgs
from pulumi_cortecs.cli import _main as cli
from pulumi_cortecs.cli._rows import InstanceRow
from pulumi_cortecs.cli._tables import Column, format_age, format_table
from pulumi_cortecs.cli._views import format_step
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock, mock_api
from pulumi_cortecs.testing.fake.catalog import AVAILABLE_HARDWARE_TYPE_IDS, HARDWARE_TYPES, MODELS
from pulumi_cortecs.testing.processes import (
    CREDENTIAL_VARIABLES,
    FakeApiProcess,
    without_credentials,
)

from tests import LLAMA_ID, PROJECT_ROOT

CLIENT_ID = "demo-client-id"
SECRET = "demo-client-secret"
CANARY = "canary-secret-5b1d0c"
QWEN = "Qwen--Qwen2.5-72B-Instruct"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def cortecs_clock() -> ManualClock:
    return ManualClock(start=time.time())


@pytest.fixture
def backend(cortecs_clock: ManualClock) -> Iterator[FakeBackend]:
    with mock_api(clock=cortecs_clock, step_seconds=10.0) as fake:
        yield fake


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", SECRET)


def run(capsys: pytest.CaptureFixture[str], *argv: str, **kwargs: Any) -> tuple[int, str, str]:
    code = cli.main(list(argv), **kwargs)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def instant_client(api_base_url: str | None) -> Client:
    """A client that does not sleep between retries, so failing calls fail fast."""
    return Client(api_base_url=api_base_url, sleep=lambda _: None, max_attempts=2)


def start(model_id: str, **args: Any) -> str:
    with Client(CLIENT_ID, SECRET) as client:
        return client.start(InstanceArgs(model_id=model_id, **args)).instance_id


# models


@pytest.mark.usefixtures("backend")
def test_models_table_lists_hardware_with_context_and_marks_the_recommended(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "models")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["MODEL", "ID", "HF", "NAME", "HARDWARE", "MAX", "CONTEXT"]
    for model in MODELS:
        assert model["model_id"] in out
        assert model["hf_name"] in out
        recommended = model["recommended_config"]
        assert re.search(rf"{recommended} \*\s+{model['hardware_configs'][recommended]:,}\n", out)
    # One row per hardware type a model fits on, plus the header and the legend.
    rows = sum(len(m["hardware_configs"]) for m in MODELS)
    assert len([line for line in lines if line.strip()]) == rows + 2
    assert "* recommended hardware" in out
    # Aligned: the HARDWARE column starts at the same offset on every row.
    column = lines[0].index("HARDWARE")
    assert all(line[column - 2 : column] == "  " for line in lines[1 : rows + 1])


@pytest.mark.usefixtures("backend")
def test_models_json_has_stable_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    models = json.loads(out)["models"]
    assert [m["model_id"] for m in models] == [m["model_id"] for m in MODELS]
    for row, model in zip(models, MODELS, strict=True):
        assert set(row) == {
            "model_id",
            "hf_name",
            "screen_name",
            "creator",
            "size",
            "instant_provisioned",
            "recommended_hardware",
            "hardware",
        }
        assert row["recommended_hardware"] == model["recommended_config"]
        assert {h["hardware_type_id"]: h["max_context_length"] for h in row["hardware"]} == (
            model["hardware_configs"]
        )
        assert [h["hardware_type_id"] for h in row["hardware"] if h["recommended"]] == [
            model["recommended_config"]
        ]


@pytest.mark.usefixtures("backend")
def test_models_hardware_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "models", "--hardware", "NVIDIA_H100_2")
    assert code == 0
    models = json.loads(out)["models"]
    assert [m["model_id"] for m in models] == [QWEN]
    assert [h["hardware_type_id"] for h in models[0]["hardware"]] == ["NVIDIA_H100_2"]

    code, out, _ = run(capsys, "models", "--hardware", "NO_SUCH_GPU")
    assert (code, out) == (0, "No models.\n")


# hardware


@pytest.mark.usefixtures("backend")
def test_hardware_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "hardware")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["HARDWARE", "GPU", "GPUS", "VRAM", "PRICE/HOUR", "AVAILABLE"]
    assert len(lines) == 1 + len(HARDWARE_TYPES)
    l4 = next(line for line in lines if line.startswith("NVIDIA_L4_1 "))
    assert l4.split() == ["NVIDIA_L4_1", "NVIDIA", "L4", "1", "24", "GB", "0.89", "EUR", "yes"]
    a100 = next(line for line in lines if line.startswith("NVIDIA_A100_1 "))
    assert a100.endswith("  no")


@pytest.mark.usefixtures("backend")
def test_hardware_json_and_available_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "hardware", "--json")
    assert code == 0
    rows = json.loads(out)["hardware_types"]
    assert {r["hardware_type_id"]: r["available"] for r in rows} == {
        hw["hardware_type_id"]: hw["hardware_type_id"] in AVAILABLE_HARDWARE_TYPE_IDS
        for hw in HARDWARE_TYPES
    }
    l4 = next(r for r in rows if r["hardware_type_id"] == "NVIDIA_L4_1")
    assert l4 == {
        "hardware_type_id": "NVIDIA_L4_1",
        "gpu": "NVIDIA L4",
        "gpu_count": 1,
        "vram_gb": 24,
        "price_per_hour": 0.89,
        "price_per_minute": l4["price_per_minute"],
        "currency": "EUR",
        "available": True,
        "hardware_info": {"gpu": "NVIDIA L4", "gpu_count": 1, "vram_gb": 24},
    }

    code, out, _ = run(capsys, "hardware", "--available", "--json")
    assert code == 0
    ids = [r["hardware_type_id"] for r in json.loads(out)["hardware_types"]]
    assert set(ids) == set(AVAILABLE_HARDWARE_TYPE_IDS)


@pytest.mark.usefixtures("backend")
def test_catalog_needs_no_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "models")[0] == 0
    assert run(capsys, "hardware")[0] == 0


# instances


@pytest.mark.usefixtures("backend", "credentials")
def test_instances_show_progress_age_and_base_url(
    capsys: pytest.CaptureFixture[str], cortecs_clock: ManualClock
) -> None:
    running = start(LLAMA_ID)
    cortecs_clock.advance(10 * 5 + 1)  # five init steps of 10 s: running
    cortecs_clock.advance(3 * 3600 + 5 * 60)
    pending = start(QWEN)
    cortecs_clock.advance(25)  # in step 3

    def fake_now() -> datetime:
        return datetime.fromtimestamp(cortecs_clock(), timezone.utc)

    code, out, err = run(capsys, "instances", now=fake_now)
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == [
        "INSTANCE",
        "ID",
        "MODEL",
        "HARDWARE",
        "STATUS",
        "STEP",
        "AGE",
        "BASE",
        "URL",
    ]
    by_id = {row.split()[0]: row for row in rows}
    assert set(by_id) == {running, pending}
    assert "meta-llama/Meta-Llama-3.1-8B-Instruct" in by_id[running]
    assert re.search(r"\brunning\s+5/5 Running\s+3h0[56]m\s+https://\S+", by_id[running])
    assert re.search(r"\bpending\s+3/5 [A-Z]\w+.*\s-\s+-$", by_id[pending])

    code, out, _ = run(capsys, "instances", "--json", now=fake_now)
    rows_json = {r["instance_id"]: r for r in json.loads(out)["instances"]}
    assert rows_json[pending]["current_step"] == 3
    assert rows_json[pending]["num_steps"] == 5
    assert rows_json[pending]["base_url"] is None
    assert rows_json[pending]["age_seconds"] is None
    assert rows_json[running]["status"] == "running"
    assert rows_json[running]["base_url"].startswith("https://")
    assert 3 * 3600 <= rows_json[running]["age_seconds"] <= 3 * 3600 + 6 * 60 + 30
    assert set(rows_json[running]) == {
        "instance_id",
        "model_id",
        "model_name",
        "hardware_type_id",
        "context_length",
        "billing_interval",
        "num_workers",
        "status",
        "current_step",
        "num_steps",
        "step_description",
        "started_at",
        "stopped_at",
        "age_seconds",
        "base_url",
    }


@pytest.mark.usefixtures("backend", "credentials")
def test_instances_by_id_and_status(
    capsys: pytest.CaptureFixture[str], cortecs_clock: ManualClock
) -> None:
    first = start(LLAMA_ID)
    cortecs_clock.advance(60)
    second = start(LLAMA_ID)

    code, out, _ = run(capsys, "instances", second, "--json")
    assert code == 0
    assert [r["instance_id"] for r in json.loads(out)["instances"]] == [second]

    code, out, _ = run(capsys, "instances", "--status", "running", "--json")
    assert [r["instance_id"] for r in json.loads(out)["instances"]] == [first]


@pytest.mark.usefixtures("backend", "credentials")
def test_no_instances(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "instances") == (0, "No instances.\n", "")
    code, out, _ = run(capsys, "instances", "--json")
    assert (code, json.loads(out)) == (0, {"instances": []})


@pytest.mark.usefixtures("backend", "credentials")
def test_unknown_instance_is_an_api_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "instances", "instance-404")
    assert code == cli.EXIT_API_ERROR == 1
    assert out == ""
    assert "instance-404" in err
    assert "404" in err


# exit codes and errors


@pytest.mark.usefixtures("backend")
def test_missing_credentials_exit_3_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "instances")
    assert code == cli.EXIT_CREDENTIALS == 3
    assert out == ""
    assert "CORTECS_CLIENT_ID" in err
    assert "CORTECS_CLIENT_SECRET" in err
    assert "`models` and `hardware` need no credentials" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("backend")
def test_refused_credentials_exit_3_without_the_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", CANARY)
    code, out, err = run(capsys, "instances")
    assert code == 3
    assert out == ""
    assert "refused" in err
    assert "CORTECS_CLIENT_SECRET" in err
    assert CANARY not in err


@pytest.mark.usefixtures("credentials")
def test_api_failure_exit_1(capsys: pytest.CaptureFixture[str], backend: FakeBackend) -> None:
    backend.faults.fail_next(500, times=10, path="/models")
    code, out, err = run(capsys, "models", client_factory=instant_client)
    assert (code, out) == (1, "")
    assert "HTTP 500" in err
    assert SECRET not in err


def test_unreachable_api_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "hardware",
        "--api-base-url",
        "http://127.0.0.1:9/api/v1",
        client_factory=instant_client,
    )
    assert (code, out) == (1, "")
    assert "could not be reached" in err
    assert err.startswith("python -m pulumi_cortecs: error: ")


@pytest.mark.parametrize(
    "argv", [[], ["bogus"], ["models", "--nope"], ["instances", "--status", "x"]]
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == cli.EXIT_USAGE == 2
    assert out == ""
    assert "usage:" in err


def test_help_documents_exit_codes_and_variables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for text in ("models", "hardware", "instances", "--json", "--api-base-url"):
        assert text in out
    for line in ("0  success", "1  the API failed", "2  usage error", "3  credentials"):
        assert line in out
    assert "CORTECS_CLIENT_ID" in out
    code, out, _ = run(capsys, "instances", "--help")
    assert code == 0
    assert "3  credentials missing or refused" in out


def test_api_base_url_option_and_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_api(base_url="https://example.test/api/v1"):
        code, out, _ = run(capsys, "hardware", "--api-base-url", "https://example.test/api/v1")
        assert code == 0
        assert "NVIDIA_L4_1" in out
        monkeypatch.setenv("CORTECS_API_BASE_URL", "https://example.test/api/v1")
        code, out, _ = run(capsys, "--json", "hardware")
        assert code == 0
        assert json.loads(out)["hardware_types"]


# formatting


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h00m"),
        (3 * 3600 + 5 * 60, "3h05m"),
        (86400 * 2 + 4 * 3600 + 59, "2d04h"),
    ],
)
def test_format_age(seconds: float | None, text: str) -> None:
    assert format_age(seconds) == text


def test_format_table_aligns_and_right_aligns_numbers() -> None:
    table = format_table(
        [Column("NAME"), Column("N", right=True), Column("NOTE")],
        [["a", "1", ""], ["longer", "100", "x"]],
    )
    assert table == "NAME      N  NOTE\na         1\nlonger  100  x\n"


def test_age_of_a_stopped_instance_stops_counting() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    from pulumi_cortecs.api._models import Instance

    instance = Instance.model_validate(
        {
            "instance_id": "instance-1",
            "instance_args": {"model_id": LLAMA_ID},
            "instance_status": {
                "status": "stopped",
                "started_at": (now - timedelta(hours=5)).isoformat(),
                "stopped_at": (now - timedelta(hours=3)).isoformat(),
            },
        }
    )
    row = InstanceRow.of(instance, now)
    assert row.age_seconds == 2 * 3600
    assert format_step(row) == "-"


# as a subprocess, against the fake over HTTP


def run_module(
    fake: FakeApiProcess, *argv: str, credentials: bool = False
) -> subprocess.CompletedProcess[str]:
    env = without_credentials(CORTECS_API_BASE_URL=fake.api_base_url)
    if credentials:
        env.update(CORTECS_CLIENT_ID=CLIENT_ID, CORTECS_CLIENT_SECRET=SECRET)
    return subprocess.run(
        [sys.executable, "-m", "pulumi_cortecs", *argv],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["models", "hardware"])
def test_module_catalog_commands(cortecs_api: FakeApiProcess, command: str) -> None:
    table = run_module(cortecs_api, command)
    assert (table.returncode, table.stderr) == (0, "")
    assert "NVIDIA_L4_1" in table.stdout
    as_json = run_module(cortecs_api, command, "--json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)


def test_module_instances(cortecs_api: FakeApiProcess) -> None:
    with Client(CLIENT_ID, SECRET, cortecs_api.api_base_url) as client:
        instance = client.start(InstanceArgs(model_id=LLAMA_ID))
        client.wait_until_running(instance.instance_id, timeout=30)

    table = run_module(cortecs_api, "instances", credentials=True)
    assert (table.returncode, table.stderr) == (0, "")
    assert instance.instance_id in table.stdout
    assert "5/5 Running" in table.stdout
    as_json = run_module(cortecs_api, "instances", "--json", credentials=True)
    (row,) = json.loads(as_json.stdout)["instances"]
    assert row["base_url"].startswith(cortecs_api.api_base_url.removesuffix("/api/v1"))

    missing = run_module(cortecs_api, "instances")
    assert missing.returncode == 3
    assert missing.stdout == ""
    assert "CORTECS_CLIENT_ID" in missing.stderr and "CORTECS_CLIENT_SECRET" in missing.stderr

    usage = run_module(cortecs_api, "nope")
    assert usage.returncode == 2
