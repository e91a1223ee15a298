"""`cortecs-instances run MODEL -- CMD`: the real CLI process against the fake API over HTTP.

CMD is a small Python program; it tells the test what it saw through a file, so that its
stdout and stderr stay what `run` passes through untouched.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from pulumi_cortecs import Client, Instance
from pulumi_cortecs._journal import Journal
from pulumi_cortecs._leases import Lease, Leases
from pulumi_cortecs._store import open_store
from pulumi_cortecs.cli._run import _Progress
from pulumi_cortecs.testing import (
    DEMO_API_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    FakeApiProcess,
    without_credentials,
)

from tests import LLAMA, PROJECT_ROOT, wait_for

# CMD: asks the instance through the OpenAI client, which reads OPENAI_BASE_URL and
# OPENAI_API_KEY as any user's program would, and reports the environment it saw.
ASK = textwrap.dedent(
    """
    import json, os, sys
    import openai

    answer = openai.OpenAI().chat.completions.create(
        model=os.environ["OPENAI_MODEL"], messages=[{"role": "user", "content": "Hi"}]
    )
    seen = {name: os.environ.get(name) for name in (
        "OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_API_KEY", "OPENAI_MODEL",
        "CORTECS_INSTANCE_ID", "CORTECS_CLIENT_ID", "CORTECS_CLIENT_SECRET",
    )}
    seen["answer"] = answer.choices[0].message.content
    with open(sys.argv[1], "w") as report:
        json.dump(seen, report)
    print("to stdout"); print("to stderr", file=sys.stderr)
    sys.exit(int(sys.argv[2]))
    """
)
# CMD: says it started, then waits to be ended.
WAIT = textwrap.dedent(
    """
    import pathlib, sys, time
    pathlib.Path(sys.argv[1]).write_text("started")
    time.sleep(120)
    """
)


def environment(api: FakeApiProcess, journal: Path) -> dict[str, str]:
    return without_credentials(
        CORTECS_API_BASE_URL=api.api_base_url,
        CORTECS_CLIENT_ID=DEMO_CLIENT_ID,
        CORTECS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        CORTECS_API_KEY=DEMO_API_KEY,
        CORTECS_JOURNAL_DIR=str(journal),
    )


def start_run(api: FakeApiProcess, journal: Path, *argv: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pulumi_cortecs", "run", *argv],
        cwd=PROJECT_ROOT,
        env={**environment(api, journal), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(api: FakeApiProcess, journal: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    process = start_run(api, journal, *argv)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def python(script: str, *args: str) -> list[str]:
    return ["--", sys.executable, "-c", script, *args]


def pending_records(journal: Path) -> list[str]:
    return [
        entry.owner for _, entry in Journal(open_store(str(journal))).all_entries() if entry.pending
    ]


def test_cmd_gets_the_instance_in_its_environment_and_its_status_is_run_s(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    report = tmp_path / "seen.json"
    done = run(cortecs_api, tmp_path / "journal", LLAMA, *python(ASK, str(report), "3"))
    assert done.returncode == 3, done.stderr
    seen = json.loads(report.read_text())
    instance_id = seen["CORTECS_INSTANCE_ID"]
    base_url = f"{cortecs_api.api_base_url.removesuffix('/api/v1')}/serve/{instance_id}/v1"
    assert seen == {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_BASE": base_url,
        "OPENAI_API_KEY": DEMO_API_KEY,
        "OPENAI_MODEL": LLAMA,
        "CORTECS_INSTANCE_ID": instance_id,
        # The instance, not the account: CMD cannot start billed instances of its own.
        "CORTECS_CLIENT_ID": DEMO_CLIENT_ID,
        "CORTECS_CLIENT_SECRET": None,
        "answer": seen["answer"],
    }
    assert seen["answer"]
    # CMD's stdout is run's whole stdout; its stderr is there, after run's progress.
    assert done.stdout == "to stdout\n"
    assert "to stderr\n" in done.stderr
    assert f"{LLAMA} on NVIDIA_L4_1 x 1: 0.89 EUR/hour" in done.stderr
    assert f"deleted {instance_id}" in done.stderr
    # Its first minute, billed per minute: 0.89 EUR/hour / 60.
    assert f"{instance_id} cost 0.01 EUR since its last start (billed per_minute)" in done.stderr
    assert DEMO_API_KEY not in done.stderr
    assert cortecs_api.instances() == []
    assert pending_records(tmp_path / "journal") == []


@pytest.mark.parametrize(
    ("cmd", "status"),
    [
        (["true"], 0),
        (["false"], 1),
        (["sh", "-c", "exit 42"], 42),
        (["sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM),
        (["no-such-command-anywhere"], 127),
    ],
)
def test_cmd_s_exit_status_is_run_s_and_the_instance_is_deleted_whatever_it_is(
    cortecs_api: FakeApiProcess, tmp_path: Path, cmd: list[str], status: int
) -> None:
    done = run(cortecs_api, tmp_path, LLAMA, "--", *cmd)
    assert done.returncode == status, done.stderr
    assert done.stdout == ""
    assert cortecs_api.instances() == [] and len(cortecs_api.state()["deleted_ids"]) == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_reaches_cmd_and_the_instance_is_deleted(
    cortecs_api: FakeApiProcess, tmp_path: Path, signum: signal.Signals
) -> None:
    started = tmp_path / "started"
    process = start_run(cortecs_api, tmp_path / "journal", LLAMA, *python(WAIT, str(started)))
    wait_for(started.exists, timeout=60)
    assert len(cortecs_api.instances()) == 1
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    # CMD ended by the signal run passed on; run says so with its status.
    assert process.returncode == 128 + signum, stderr
    assert "deleted instance-" in stderr
    assert cortecs_api.instances() == []
    assert pending_records(tmp_path / "journal") == []


def terminated_once_the_server_has_it(api: FakeApiProcess, tmp_path: Path) -> tuple[str, Path]:
    """``run`` sent SIGTERM as soon as the API holds its instance: its stderr once it ended with
    128 + SIGTERM, and the file its command would have written on starting."""
    started = tmp_path / "started"
    process = start_run(api, tmp_path / "journal", LLAMA, *python(WAIT, str(started)))
    wait_for(lambda: api.instances() != [], timeout=60)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    return stderr, started


def test_a_signal_while_the_instance_boots_deletes_it_before_cmd_ever_runs(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    cortecs_api.configure(step_seconds=5.0)
    stderr, started = terminated_once_the_server_has_it(cortecs_api, tmp_path)
    assert not started.exists()
    assert "stopped and deleted, so nothing is billed" in stderr
    assert cortecs_api.instances() == []
    assert Leases(open_store(str(tmp_path / "journal"))).all() == []  # its boot lease too


def test_a_signal_while_the_start_is_answered_waits_for_the_answer_and_deletes_it(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    """The instance exists on the server, its answer is on its way: the signal lands once the
    answer names the instance, so there is something to delete, not a start lost mid-way."""
    cortecs_api.faults(
        inject={"kind": "slow", "path": "/instances/start", "method": "POST"}, slow_seconds=3.0
    )
    stderr, started = terminated_once_the_server_has_it(cortecs_api, tmp_path)
    assert "SIGTERM: the start is under way" in stderr
    assert "stopped and deleted, so nothing is billed" in stderr
    assert not started.exists()
    assert cortecs_api.instances() == []
    assert pending_records(tmp_path / "journal") == []
    assert Leases(open_store(str(tmp_path / "journal"))).all() == []


def test_a_second_signal_kills_a_cmd_that_ignores_the_first(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    stubborn = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + WAIT
    started = tmp_path / "started"
    process = start_run(cortecs_api, tmp_path / "journal", LLAMA, *python(stubborn, str(started)))
    wait_for(started.exists, timeout=60)
    process.send_signal(signal.SIGTERM)
    # Two signals sent at once may arrive as one: the second waits until run forwarded the first.
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGKILL, stderr
    assert "SIGTERM again: killing the command" in stderr
    assert cortecs_api.instances() == []


def test_auto_stop_after_ends_cmd_and_the_instance(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    done = run(cortecs_api, tmp_path, LLAMA, "--auto-stop-after", "3s", *python(WAIT, str(started)))
    assert done.returncode == 124, done.stderr
    assert "--auto-stop-after" in done.stderr and started.exists()
    assert cortecs_api.instances() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--max-price-per-hour", "0.5"],
            f"--max-price-per-hour: {LLAMA} on NVIDIA_L4_1 x 1 costs 0.89 EUR/hour, above the "
            "limit of 0.50",
        ),
        (["--hardware", "NVIDIA_B200_9"], "--hardware: "),
        (["--context", "999999"], "--context: 999999 is above the maximum of"),
        (["--workers", "9"], "--workers: "),
    ],
)
def test_a_budget_or_a_bad_argument_is_refused_before_anything_starts(
    cortecs_api: FakeApiProcess, tmp_path: Path, options: list[str], message: str
) -> None:
    done = run(cortecs_api, tmp_path, LLAMA, *options, "--", "true")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "nothing was started" in done.stderr
    assert cortecs_api.instances() == [] and cortecs_api.state()["starts"] == 0


def test_an_unknown_model_is_refused_naming_the_close_one(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    done = run(cortecs_api, tmp_path, LLAMA.replace("Instruct", "Instrct"), "--", "true")
    assert done.returncode == 2
    assert "MODEL: model 'meta-llama/Meta-Llama-3.1-8B-Instrct' is not in the catalog" in (
        done.stderr
    )
    assert "did you mean meta-llama/Meta-Llama-3.1-8B-Instruct?" in done.stderr
    assert cortecs_api.instances() == []


def test_no_api_key_or_no_command_is_a_usage_error(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    process = start_run(cortecs_api, tmp_path, LLAMA, "--", "true", CORTECS_API_KEY="")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "CORTECS_API_KEY" in stderr
    done = run(cortecs_api, tmp_path, LLAMA)
    assert done.returncode == 2 and "`run` needs a command" in done.stderr
    assert cortecs_api.instances() == []


def test_keep_leaves_the_instance_running(cortecs_api: FakeApiProcess, tmp_path: Path) -> None:
    done = run(cortecs_api, tmp_path / "journal", LLAMA, "--keep", "--json", "--", "true")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["runs"]
    assert row["kept"] is True
    (instance,) = cortecs_api.instances()
    assert instance["instance_id"] == row["instance_id"]
    assert instance["status"] == "running"
    assert f"`cortecs-instances delete {row['instance_id']}`" in done.stderr


def deleted_by_reap_elsewhere(api: FakeApiProcess, journal: Path, lease: Lease) -> dict[str, Any]:
    """Once ``lease`` has run out, `cortecs-instances reap --json` from another machine (its own
    HOME and journal setting, given the shared journal by its flag): its row, which says it
    deleted the instance."""
    home = journal.parent / "elsewhere"
    home.mkdir()
    wait_for(lambda: lease.expired(time.time()), timeout=30)
    reap = subprocess.run(
        [sys.executable, "-m", "pulumi_cortecs", "reap", "--journal-dir", str(journal), "--json"],
        cwd=PROJECT_ROOT,
        env={**environment(api, home / "journal"), "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert reap.returncode == 0, reap.stderr
    (reaped,) = json.loads(reap.stdout)["reaped"]
    assert (reaped["instance_id"], reaped["action"], reaped["outcome"]) == (
        lease.instance_id,
        "delete",
        "deleted",
    )
    assert api.instances() == []
    return dict(reaped)


def test_after_kill_9_reap_deletes_the_instance_once_its_lease_runs_out(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    started = tmp_path / "started"
    waits = WAIT.replace('write_text("started")', "write_text(str(os.getpid()))")
    process = start_run(
        cortecs_api,
        journal,
        LLAMA,
        "--auto-stop-after",
        "5s",
        *python("import os" + waits, str(started)),
    )
    wait_for(started.exists, timeout=60)
    process.kill()  # kill -9: no finally, no teardown
    process.wait(timeout=10)
    os.kill(int(started.read_text()), signal.SIGKILL)  # CMD, orphaned (it holds run's pipes)
    process.communicate(timeout=10)
    (instance,) = cortecs_api.instances()
    assert instance["status"] == "running"
    leases = Leases(open_store(str(journal)))
    lease = leases.get(instance["instance_id"])
    assert lease is not None and lease.action == "delete"
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        assert leases.reap(client) == []  # not run out yet: left running
    assert len(cortecs_api.instances()) == 1

    reaped = deleted_by_reap_elsewhere(cortecs_api, journal, lease)
    assert reaped["owner"].startswith("run:cli/")


def test_after_kill_9_during_the_boot_reap_deletes_the_instance_once_its_lease_runs_out(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    cortecs_api.configure(step_seconds=1.0)  # a boot of 5 s
    journal = tmp_path / "journal"
    leases = Leases(open_store(str(journal)))
    process = start_run(
        cortecs_api,
        journal,
        LLAMA,
        "--auto-stop-after",
        "2s",
        "--wait-timeout",
        "10s",
        *python(WAIT, str(tmp_path / "started")),
    )
    wait_for(lambda: len(leases.all()) == 1, timeout=60)
    process.kill()  # kill -9 while the instance boots: no finally, no teardown
    process.communicate(timeout=10)
    (instance,) = cortecs_api.instances()
    assert instance["status"] == "pending"
    (lease,) = leases.all()
    assert (lease.instance_id, lease.action, lease.started_at) == (
        instance["instance_id"],
        "delete",
        None,  # granted before the instance had a start time
    )
    # It lasts until a live run would have given up waiting (10 s), not --auto-stop-after (2 s).
    assert lease.boot_by is not None and lease.expires_at == lease.boot_by
    assert pending_records(journal) != []  # the write-ahead record stays, for `orphans`

    # (Before it runs out it is left alone: tests/test_leases.py, on an injected clock.)
    deleted_by_reap_elsewhere(cortecs_api, journal, lease)
    assert leases.all() == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def booting(step: int | None, status: str = "pending") -> Instance:
    progress = {"current_step": step, "num_steps": 5, "description": "Pulling image"}
    return Instance.model_validate(
        {
            "instance_id": "instance-7",
            "instance_args": {"model_id": LLAMA.replace("/", "--")},
            "instance_status": {"status": status, "init_progress": progress if step else None},
        }
    )


def test_on_a_terminal_the_boot_is_a_bar_below_the_lines() -> None:
    terminal = Terminal()
    progress = _Progress(terminal, clock=lambda: 12.0)
    progress.update(booting(2))
    assert (
        terminal.getvalue() == "\r\x1b[Kinstance-7 [#####...................] 2/5 Pulling image  0s"
    )
    progress.write("info: a line\n")
    assert terminal.getvalue().endswith(
        "\r\x1b[Kinfo: a line\ninstance-7 [#####" + "." * 19 + "] 2/5 Pulling image  0s"
    )
    progress.update(booting(None, "running"))
    assert terminal.getvalue().endswith(f"[{'#' * 24}] running: waiting for it to answer  0s")
    progress.finish()
    assert terminal.getvalue().endswith("\r\x1b[K")


def test_elsewhere_only_the_lines() -> None:
    piped = io.StringIO()
    progress = _Progress(piped, clock=lambda: 0.0)
    progress.update(booting(2))
    progress.write("info: a ")
    progress.write("line\n")
    progress.finish()
    assert piped.getvalue() == "info: a line\n"


def test_the_api_key_reaches_cmd_and_nothing_else(
    cortecs_api: FakeApiProcess, tmp_path: Path
) -> None:
    canary = "canary-key-7f3a9c"
    cortecs_api.configure(api_key=canary)
    journal = tmp_path / "journal"
    report = tmp_path / "seen.json"
    process = start_run(
        cortecs_api,
        journal,
        LLAMA,
        "--keep",
        *python(ASK, str(report), "0"),
        CORTECS_API_KEY=canary,
    )
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert json.loads(report.read_text())["OPENAI_API_KEY"] == canary
    kept = [path.read_text() for path in journal.rglob("*") if path.is_file()]
    assert kept and all(canary not in text for text in [stdout, stderr, *kept])
