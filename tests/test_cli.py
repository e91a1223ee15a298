"""The CLI (`python -m pulumi_cortecs`): catalog and instance tables, JSON, exit codes, errors
and their hints. (Stop, delete, watch and retries: test_cli_operators.py; fitting tables to
the terminal: test_cli_tables.py.)

In-process against the fake through respx (``cortecs_mock``, on a manual clock, so instance
lifecycles are deterministic) and as a subprocess against ``python -m
pulumi_cortecs.testing.fake`` over HTTP (``cortecs_api``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import respx
from pulumi_cortecs import Client, InstanceArgs, __version__
from pulumi_cortecs.cli import _main as cli
from pulumi_cortecs.cli._parser import PROG, SCRIPT
from pulumi_cortecs.cli._rows import InstanceRow
from pulumi_cortecs.cli._tables import Column, format_age, format_table
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock, mock_api
from pulumi_cortecs.testing.fake.catalog import AVAILABLE_HARDWARE_TYPE_IDS, HARDWARE_TYPES, MODELS
from pulumi_cortecs.testing.processes import (
    CREDENTIAL_VARIABLES,
    FakeApiProcess,
    without_credentials,
)

from tests import LLAMA_ID, PROJECT_ROOT
from tests.test_packaging import PROJECT

CLIENT_ID = "demo-client-id"
SECRET = "demo-client-secret"
CANARY = "canary-secret-5b1d0c"
QWEN = "Qwen--Qwen2.5-72B-Instruct"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def backend(cortecs_mock: FakeBackend) -> FakeBackend:
    """The in-process fake, with init steps of 10 s (of the manual clock)."""
    cortecs_mock.step_seconds = 10.0
    return cortecs_mock


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", SECRET)


def run(capsys: pytest.CaptureFixture[str], *argv: str, **kwargs: Any) -> tuple[int, str, str]:
    code = cli.main(list(argv), **kwargs)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def instant_client(settings: cli.ClientSettings) -> Client:
    """A client that does not sleep between retries, so failing calls fail fast."""
    return Client(
        api_base_url=settings.api_base_url,
        max_attempts=settings.max_attempts,
        sleep=lambda _: None,
    )


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
    assert lines[0].split() == ["MODEL", "HARDWARE", "MAX", "CONTEXT"]
    for model in MODELS:
        # One name per model: the id is the HF name spelled the API's way, not worth a column.
        assert model["hf_name"] in out
        assert model["model_id"] not in out
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


@pytest.mark.usefixtures("backend")
def test_models_of_unknown_hardware_is_a_usage_error_naming_the_hardware_types(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "models", "--hardware", "NO_SUCH_GPU")
    assert (code, out) == (cli.EXIT_USAGE, "")
    assert "unknown hardware type 'NO_SUCH_GPU'" in err
    for hardware in HARDWARE_TYPES:
        assert hardware["hardware_type_id"] in err
    assert "did you mean" not in err

    code, _, err = run(capsys, "models", "--hardware", "NVIDIA_L4")
    assert code == 2
    assert "did you mean NVIDIA_L4_1?" in err


@pytest.mark.usefixtures("backend")
def test_models_wide_shows_the_id_the_name_and_the_details(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "models", "--wide")
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:6] == ["MODEL", "ID", "HF", "NAME", "NAME", "CREATOR"]
    for model in MODELS:
        line = next(line for line in out.splitlines() if line.startswith(model["model_id"]))
        assert model["hf_name"] in line
        assert model["screen_name"] in line
        assert model["creator"]["name"] in line


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
def test_instances_show_progress_age_price_and_base_url(
    capsys: pytest.CaptureFixture[str], cortecs_clock: ManualClock
) -> None:
    running = start(LLAMA_ID)
    cortecs_clock.advance(10 * 5 + 1)  # five init steps of 10 s: running
    cortecs_clock.advance(3 * 3600 + 5 * 60)
    pending = start(QWEN, num_workers=2)
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
        "AGE",
        "PRICE/HOUR",
        "COST",
        "BASE",
        "URL",
    ]
    by_id = {row.split()[0]: row for row in rows}
    assert set(by_id) == {running, pending}
    assert "meta-llama/Meta-Llama-3.1-8B-Instruct  NVIDIA_L4_1" in by_id[running]
    # Running for 3h05m01s: 186 started minutes at 0.89 EUR an hour.
    assert re.search(r"\brunning\s+3h0[56]m\s+0\.89 EUR\s+2\.76 EUR\s+https://\S+$", by_id[running])
    # Two workers of NVIDIA_H100_2 at 7.18 EUR an hour each; not started yet.
    assert re.search(r"\bpending 3/5 [A-Z][\w ]+\s+-\s+14\.36 EUR\s+-\s+-$", by_id[pending])

    code, out, _ = run(capsys, "instances", "--json", now=fake_now)
    rows_json = {r["instance_id"]: r for r in json.loads(out)["instances"]}
    assert rows_json[pending]["current_step"] == 3
    assert rows_json[pending]["num_steps"] == 5
    assert rows_json[pending]["base_url"] is None
    assert rows_json[pending]["age_seconds"] is None
    assert rows_json[running]["status"] == "running"
    assert rows_json[running]["base_url"].startswith("https://")
    assert 3 * 3600 <= rows_json[running]["age_seconds"] <= 3 * 3600 + 6 * 60 + 30
    assert rows_json[running]["price_per_hour"] == 0.89
    assert rows_json[pending]["price_per_hour"] == 7.18
    assert rows_json[pending]["estimated_cost_per_hour"] == 14.36
    assert rows_json[pending]["currency"] == "EUR"
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
        "price_per_hour",
        "currency",
        "estimated_cost_per_hour",
        "cost_per_hour_running",
        "cost_since_start",
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
@pytest.mark.parametrize(
    ("argv0", "named"),
    [
        ("/home/me/.venv/bin/cortecs-instances", "cortecs-instances"),
        ("/home/me/.venv/lib/python3.11/site-packages/pulumi_cortecs/__main__.py", PROG),
    ],
)
def test_errors_and_usage_name_the_command_as_it_was_typed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv0: str, named: str
) -> None:
    monkeypatch.setattr(sys, "argv", [argv0, "instances"])
    _, _, err = run(capsys, "instances")
    assert err.startswith(f"{named}: error: `instances` needs API credentials")
    _, _, err = run(capsys, "no-such-command")
    assert err.startswith(f"usage: {named} ")


def test_the_script_name_is_the_one_pyproject_installs() -> None:
    assert PROJECT["scripts"] == {SCRIPT: "pulumi_cortecs.cli:main"}


@pytest.mark.usefixtures("backend")
def test_refused_credentials_exit_3_without_the_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", CANARY)
    code, out, err = run(capsys, "instances")
    assert code == 3
    assert out == ""
    assert err.startswith("python -m pulumi_cortecs: error: the credentials were refused (")
    assert "HTTP 401" in err
    assert "hint: check CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET" in err
    assert err.count("CORTECS_CLIENT_SECRET") == 1  # the hint, not the client's advice again
    assert CANARY not in err


def test_a_secret_with_a_trailing_newline_is_named_so_not_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, backend: FakeBackend
) -> None:
    monkeypatch.setenv("CORTECS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", f"{SECRET}\n")
    code, out, err = run(capsys, "instances")
    assert (code, out) == (3, "")
    assert err == (
        "python -m pulumi_cortecs: error: CORTECS_CLIENT_SECRET has whitespace before or after "
        "it, such as a trailing newline from a file or `echo`: set it again without (its value "
        "is not shown)\n"
    )
    assert backend.calls == [], "the padded secret was sent"


@pytest.mark.usefixtures("credentials")
def test_api_failure_exit_1(capsys: pytest.CaptureFixture[str], backend: FakeBackend) -> None:
    backend.faults.fail_next(500, times=10, path="/models")
    code, out, err = run(capsys, "models", client_factory=instant_client)
    assert (code, out) == (1, "")
    assert "HTTP 500" in err
    assert "hint: the API failed on every try: try again later" in err
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
    retries = [line for line in err.splitlines() if "retrying" in line]
    assert [line.split(":")[1].strip() for line in retries] == [
        "retrying (2/5)",
        "retrying (3/5)",
        "retrying (4/5)",
        "retrying (5/5)",
    ]
    assert all("ConnectError" in line for line in retries)
    error = err.splitlines()[len(retries)]
    assert error.startswith("python -m pulumi_cortecs: error: ")
    assert "could not be reached" in error
    assert "hint: is http://127.0.0.1:9/api/v1 (--api-base-url) right?" in err


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("url", ["https://cortecs.ai", "https://cortecs.ai/"])
def test_base_url_without_api_path_says_where_the_api_is(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, err = run(capsys, "hardware", "--api-base-url", url)
    assert (code, out) == (1, "")
    assert "HTTP 404" in err
    assert "does not end in /api/v1" in err
    assert "try https://cortecs.ai/api/v1" in err


@pytest.mark.usefixtures("backend", "credentials")
def test_base_url_without_api_path_is_named_before_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTECS_API_BASE_URL", "https://cortecs.ai/v1")
    code, _, err = run(capsys, "instances")
    assert code == 1  # a 404 for the token is not a refusal of the credentials
    assert "https://cortecs.ai/v1 (CORTECS_API_BASE_URL) does not end in /api/v1" in err
    assert "try https://cortecs.ai/v1/api/v1" in err


@pytest.mark.usefixtures("backend", "credentials")
def test_a_missing_instance_gets_no_url_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "instances", "instance-404")
    assert code == 1
    assert "hint" not in err


def test_an_answer_that_is_not_the_api_hints_at_the_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with respx.mock:
        respx.get(url__startswith="https://example.test/").respond(200, text="<html>hi</html>")
        code, _, err = run(capsys, "hardware", "--api-base-url", "https://example.test/api/v1")
    assert code == 1
    assert "cannot read" in err
    assert "hint: is https://example.test/api/v1 (--api-base-url) the cortecs.ai API?" in err


@pytest.mark.parametrize(
    "url", ["cortecs.ai/api/v1", "ftp://cortecs.ai/api/v1", "https:///api/v1", "http://h:port/x"]
)
def test_malformed_api_base_url_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    code, out, err = run(capsys, "hardware", "--api-base-url", url)
    assert (code, out) == (cli.EXIT_USAGE, "")
    assert f"--api-base-url {url!r} is not a URL the CLI can use" in err
    assert "https://cortecs.ai/api/v1" in err

    monkeypatch.setenv("CORTECS_API_BASE_URL", url)
    code, _, err = run(capsys, "models")
    assert code == 2
    assert f"CORTECS_API_BASE_URL {url!r} is not a URL" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["models", "--nope"],
        ["instances", "--status", "x"],
        ["instances", "--timeout", "soon"],
        ["stop"],
        ["delete"],
        ["hardware", "--yes"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == cli.EXIT_USAGE == 2
    assert out == ""
    assert "usage:" in err


def test_help_documents_exit_codes_and_variables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for text in (
        "models",
        "hardware",
        "instances",
        "stop",
        "delete",
        "--json",
        "--wide",
        "--api-base-url",
        "--verbose",
        "--version",
        "retrying (n/m)",
    ):
        assert text in out
    for line in (
        "0  success",
        "1  the API failed (unreachable, HTTP error, unknown instance), a watched\n"
        "     instance stopped or was not running within --timeout, or a confirmation\n"
        "     was declined",
        "2  usage error (unknown command or option, malformed URL, unknown hardware,\n"
        "     a confirmation without a terminal: pass --yes, a journal directory that\n"
        "     is missing or not a directory)",
        "3  credentials missing or refused",
    ):
        assert line in out
    assert (
        "only `instances`, `stop`, `delete`, `orphans`, `reap`, `cost` and `run` need them" in out
    )
    assert "(`models` and `hardware` read the public catalog)" in out
    code, out, _ = run(capsys, "instances", "--help")
    assert code == 0
    assert "3  credentials missing or refused" in out
    assert "--watch" in out and "--timeout SECONDS" in out
    for command in ("stop", "delete"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0
        assert "-y, --yes" in out
        assert "INSTANCE_ID [INSTANCE_ID ...]" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"pulumi-cortecs-instances {__version__}\n", "")


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
    assert row.progress == ""  # a stopped instance has no init step to show


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
    assert re.search(rf"{instance.instance_id}\s.*\srunning\s", table.stdout)
    as_json = run_module(cortecs_api, "instances", "--json", credentials=True)
    (row,) = json.loads(as_json.stdout)["instances"]
    assert row["base_url"].startswith(cortecs_api.api_base_url.removesuffix("/api/v1"))

    missing = run_module(cortecs_api, "instances")
    assert missing.returncode == 3
    assert missing.stdout == ""
    assert "CORTECS_CLIENT_ID" in missing.stderr and "CORTECS_CLIENT_SECRET" in missing.stderr

    usage = run_module(cortecs_api, "nope")
    assert usage.returncode == 2


def test_a_malformed_url_is_a_usage_error_that_never_echoes_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "--api-base-url", "ftp://user:hunter2@host/api/v1", "models")
    assert code == 2 and "'ftp://host/api/v1' is not a URL the CLI can use" in err
    assert "hunter2" not in err
