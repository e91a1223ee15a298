"""The CLI for operators: ``stop`` and ``delete`` (with their confirmation), ``instances --watch``,
the ``retrying (n/m)`` lines and ``--verbose``.

In-process against ``cortecs_mock``, the client sleeping on ``cortecs_clock`` (so a boot of
five 10 s steps is watched in no time), and as subprocesses against ``cortecs_api`` over HTTP.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pulumi_cortecs import Client, InstanceArgs
from pulumi_cortecs.cli import _main as cli
from pulumi_cortecs.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, FakeApiProcess
from pulumi_cortecs.testing.fake import FakeBackend, ManualClock
from pulumi_cortecs.testing.processes import CREDENTIAL_VARIABLES, without_credentials

from tests import LLAMA, LLAMA_ID, PROJECT_ROOT, unused_port

QWEN = "Qwen/Qwen2.5-72B-Instruct"
STEP = 10.0  # seconds of the manual clock per init step; five steps to running


class Terminal(io.StringIO):
    """What the user types, on a stdin that is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CORTECS_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("CORTECS_CLIENT_SECRET", DEMO_CLIENT_SECRET)


@pytest.fixture
def backend(cortecs_mock: FakeBackend) -> FakeBackend:
    cortecs_mock.step_seconds = STEP
    return cortecs_mock


Run = Callable[..., tuple[int, str, str]]
"""Runs the CLI in-process: ``run(*argv, stdin=...)`` gives its exit code, stdout and stderr."""


@pytest.fixture
def cli_run(capsys: pytest.CaptureFixture[str], cortecs_clock: ManualClock) -> Run:
    """Run the CLI in-process with a client that sleeps and times on the manual clock."""

    def factory(settings: cli.ClientSettings) -> Client:
        return Client(
            api_base_url=settings.api_base_url,
            max_attempts=settings.max_attempts,
            sleep=cortecs_clock.sleep,
            clock=cortecs_clock,
        )

    def now() -> datetime:
        return datetime.fromtimestamp(cortecs_clock(), timezone.utc)

    def run(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
        code = cli.main(
            list(argv),
            client_factory=factory,
            stdin=stdin or io.StringIO(),  # not a terminal
            now=now,
            clock=cortecs_clock,
        )
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def start(model: str = LLAMA, **args: Any) -> str:
    with Client() as client:
        return client.start(InstanceArgs(model_id=model, **args)).instance_id


def status(backend: FakeBackend, instance_id: str) -> str | None:
    instance = backend.instances.get(instance_id)
    return None if instance is None else instance.status(backend.clock())


# stop


def test_stop_without_a_terminal_or_yes_is_refused_before_any_call(
    cli_run: Run, backend: FakeBackend
) -> None:
    instance_id = start()
    calls = len(backend.calls)
    code, out, err = cli_run("stop", instance_id)
    assert (code, out) == (cli.EXIT_USAGE, "")
    assert "`stop` asks for confirmation, and stdin is not a terminal" in err
    assert "hint: pass --yes to stop without asking" in err
    assert len(backend.calls) == calls
    assert status(backend, instance_id) == "pending"


def test_stop_asks_naming_instance_model_hardware_and_price(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    llama = start()
    qwen = start(QWEN, num_workers=2)
    cortecs_clock.advance(5 * STEP + 1)
    code, out, err = cli_run("stop", llama, qwen, stdin=Terminal("y\n"))
    assert code == 0
    question, _, _ = err.partition("[y/N]")
    assert question.startswith("About to stop 2 instances. They stop serving and billing.\n")
    llama_line = next(line for line in question.splitlines() if llama in line)
    qwen_line = next(line for line in question.splitlines() if qwen in line)
    assert re.search(rf"{LLAMA}\s+NVIDIA_L4_1\s+running\s+0\.89 EUR$", llama_line)
    assert re.search(rf"{QWEN}\s+NVIDIA_H100_2\s+running\s+14\.36 EUR$", qwen_line)
    assert question.rstrip().endswith("Stop them?")
    assert status(backend, llama) == status(backend, qwen) == "stopped"
    header, *rows = out.splitlines()
    assert header.split() == ["INSTANCE", "ID", "MODEL", "HARDWARE", "WAS", "OUTCOME"]
    assert [row.split()[0] for row in rows] == [llama, qwen]
    assert all(row.endswith("running  stopped") for row in rows)


@pytest.mark.parametrize("answer", ["n\n", "\n", "", "nope\n"])
def test_stop_not_confirmed_stops_nothing(cli_run: Run, backend: FakeBackend, answer: str) -> None:
    instance_id = start()
    code, out, err = cli_run("stop", instance_id, stdin=Terminal(answer))
    assert (code, out) == (cli.EXIT_API_ERROR, "")
    assert "Stop it? [y/N] " in err
    assert "error: not confirmed: nothing was stopped" in err
    assert status(backend, instance_id) == "pending"


def test_stop_yes_skips_the_question_and_json_says_what_happened(
    cli_run: Run, backend: FakeBackend
) -> None:
    running = start()
    stopped = start()
    backend.stop_instance(stopped)
    code, out, err = cli_run("stop", running, stopped, running, "--yes", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "stopped": [
            {
                "instance_id": running,
                "model_name": LLAMA,
                "hardware_type_id": "NVIDIA_L4_1",
                "status_before": "pending",
                "outcome": "stopped",
            },
            {
                "instance_id": stopped,
                "model_name": LLAMA,
                "hardware_type_id": "NVIDIA_L4_1",
                "status_before": "stopped",
                "outcome": "already stopped",
            },
        ]
    }
    assert status(backend, running) == "stopped"


def test_stop_of_stopped_instances_asks_nothing(cli_run: Run, backend: FakeBackend) -> None:
    instance_id = start()
    backend.stop_instance(instance_id)
    code, out, err = cli_run("stop", instance_id, stdin=Terminal(""))
    assert (code, err) == (0, "")
    assert out.splitlines()[1].endswith("stopped  already stopped")


def test_stop_of_an_unknown_instance_stops_none(cli_run: Run, backend: FakeBackend) -> None:
    instance_id = start()
    code, out, err = cli_run("stop", instance_id, "instance-404", "--yes")
    assert (code, out) == (1, "")
    assert "instance-404" in err and "HTTP 404" in err
    assert status(backend, instance_id) == "pending"


def test_stop_needs_credentials(cli_run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORTECS_CLIENT_SECRET")
    code, _, err = cli_run("stop", "instance-1", "--yes")
    assert code == cli.EXIT_CREDENTIALS
    assert "`stop` needs API credentials" in err


# delete


def test_delete_stops_a_running_instance_first(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    running = start()
    stopped = start(QWEN)
    backend.stop_instance(stopped)
    cortecs_clock.advance(5 * STEP + 1)
    code, out, err = cli_run("delete", running, stopped, stdin=Terminal("yes\n"))
    assert code == 0
    assert err.startswith(
        "About to delete 2 instances. This cannot be undone. Not stopped yet, so stopped "
        f"first: {running}.\n"
    )
    assert re.search(rf"{running}\s+{LLAMA}\s+NVIDIA_L4_1\s+running\s+0\.89 EUR", err)
    # Stopped: it costs nothing per hour any more.
    assert re.search(rf"{stopped}\s+{QWEN}\s+NVIDIA_H100_2\s+stopped\s+0\.00 EUR", err)
    assert "Delete them? [y/N] " in err
    assert running not in backend.instances and stopped not in backend.instances
    # The API deletes only stopped instances: the running one was stopped, then deleted.
    assert backend.calls[-3:] == [
        ("POST", "/api/v1/instances/stop"),
        ("DELETE", f"/api/v1/instances/{running}"),
        ("DELETE", f"/api/v1/instances/{stopped}"),
    ]
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows[running].endswith("running  stopped and deleted")
    assert rows[stopped].endswith("stopped  deleted")


def test_delete_waits_for_a_stop_the_api_has_not_finished(
    capsys: pytest.CaptureFixture[str], backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    class SlowToStop(Client):
        """Answers a stop with the instance as it was: the API has not finished stopping it."""

        def stop(self, instance_id: str) -> Any:
            before = self.get_instance(instance_id)
            super().stop(instance_id)
            return before

    instance_id = start()
    code = cli.main(
        ["delete", instance_id, "--yes"],
        client_factory=lambda settings: SlowToStop(sleep=cortecs_clock.sleep, clock=cortecs_clock),
        stdin=io.StringIO(),
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == f"{instance_id}  pending: waiting for it to stop\n"
    assert out.splitlines()[1].endswith("pending  stopped and deleted")
    assert instance_id not in backend.instances


def test_delete_without_a_terminal_or_yes_is_refused(cli_run: Run, backend: FakeBackend) -> None:
    instance_id = start()
    code, _, err = cli_run("delete", instance_id)
    assert code == 2
    assert "pass --yes to delete without asking" in err
    assert instance_id in backend.instances


def test_delete_declined_deletes_nothing(cli_run: Run, backend: FakeBackend) -> None:
    instance_id = start()
    code, _, err = cli_run("delete", instance_id, stdin=Terminal("n\n"))
    assert code == 1
    assert "Delete it? [y/N] " in err
    assert "nothing was deleted" in err
    assert status(backend, instance_id) == "pending"


def test_delete_that_fails_midway_says_what_was_done(cli_run: Run, backend: FakeBackend) -> None:
    first, second, third = start(), start(), start()
    backend.faults.fail_next(500, times=10, path=f"/instances/{second}", method="DELETE")
    code, out, err = cli_run("delete", first, second, third, "--yes", "--json")
    assert (code, out) == (1, "")
    assert f"done before the failure: {first} stopped and deleted" in err
    assert f"not deleted: {second}, {third}" in err
    assert f"DELETE /instances/{second} failed with HTTP 500" in err
    assert first not in backend.instances
    assert status(backend, second) == "stopped"  # stopped on the way, not deleted
    assert status(backend, third) == "pending"


# instances --watch


def test_watch_follows_the_steps_until_running(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    instance_id = start()
    code, out, err = cli_run("instances", instance_id, "--watch")
    assert code == 0
    lines = err.splitlines()
    assert all(line.startswith(f"{instance_id}  ") for line in lines)
    steps = [int(m[1]) for line in lines if (m := re.search(r"  pending (\d)/5 \w", line))]
    assert steps[0] == 1 and steps == sorted(set(steps))
    assert len(steps) >= 3  # 10 s steps; the poll policy may skip one it can predict
    assert re.fullmatch(
        rf"{instance_id}  running  https://cortecs\.ai/serve/{instance_id}/v1  \(5\ds\)", lines[-1]
    )
    # The boot took 50 s of the manual clock, slept by the client: no real waiting.
    assert 5 * STEP <= sum(cortecs_clock.sleeps) < 5 * STEP + 10
    assert re.search(rf"^{instance_id}\s.*\srunning\s", out, re.MULTILINE)


def test_watch_of_a_running_instance_returns_at_once(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    instance_id = start()
    cortecs_clock.advance(5 * STEP + 1)
    code, out, err = cli_run("instances", "--watch", instance_id, "--json")
    assert code == 0
    assert err == f"{instance_id}  running  https://cortecs.ai/serve/{instance_id}/v1  (0s)\n"
    assert json.loads(out)["instances"][0]["status"] == "running"
    assert cortecs_clock.sleeps == []


def test_watch_without_ids_follows_every_pending_instance(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    stopped = start()
    backend.stop_instance(stopped)
    pending = start()
    code, out, err = cli_run("instances", "--watch", "--json")
    assert code == 0
    assert {line.split()[0] for line in err.splitlines()} == {pending}
    assert {r["instance_id"]: r["status"] for r in json.loads(out)["instances"]} == {
        stopped: "stopped",
        pending: "running",
    }


def test_watch_follows_several_instances_at_once(cli_run: Run, backend: FakeBackend) -> None:
    first, second = start(), start(QWEN)
    code, out, err = cli_run("instances", first, second, "--watch", "--json")
    assert code == 0
    for instance_id in (first, second):
        seen = [line for line in err.splitlines() if line.startswith(f"{instance_id}  ")]
        # Both waits sleep on one manual clock, so each sees the other's time pass too: how
        # many steps each sees depends on how the threads take turns.
        assert all(re.match(rf"{instance_id}  pending [1-5]/5 ", line) for line in seen[:-1])
        assert seen[-1].startswith(f"{instance_id}  running  https://")
    assert [r["status"] for r in json.loads(out)["instances"]] == ["running", "running"]


def test_watch_with_nothing_pending_says_so(cli_run: Run, backend: FakeBackend) -> None:
    code, out, err = cli_run("instances", "--watch")
    assert (code, out, err) == (0, "No instances.\n", "No pending instances to watch.\n")


def test_watch_of_an_instance_that_gets_stopped_fails(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    instance_id = start()
    original = cortecs_clock.sleep

    def sleep_then_stop(seconds: float) -> None:
        original(seconds)
        if cortecs_clock() >= 2 * STEP and status(backend, instance_id) == "pending":
            backend.stop_instance(instance_id)  # someone stops it during the boot

    cortecs_clock.sleep = sleep_then_stop  # type: ignore[method-assign]
    code, out, err = cli_run("instances", instance_id, "--watch")
    assert (code, out) == (cli.EXIT_API_ERROR, "")
    lines = err.splitlines()
    assert lines[0].startswith(f"{instance_id}  pending 1/5 ")
    assert re.fullmatch(rf"{instance_id}  stopped  \(\d+s\)", lines[-2])
    assert "was stopped while waiting for it to run" in lines[-1]


def test_watch_timeout_fails_with_a_hint(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    instance_id = start()
    code, _, err = cli_run("instances", instance_id, "--watch", "--timeout", "15")
    assert code == 1
    assert f"Instance {instance_id} was not running after 15 s" in err
    assert "hint: it may still get there: raise --timeout" in err
    assert sum(cortecs_clock.sleeps) <= 15


# retries and --verbose


def test_retries_are_shown_on_stderr(
    cli_run: Run, backend: FakeBackend, cortecs_clock: ManualClock
) -> None:
    backend.faults.fail_next(503, times=2, path="/hardware-types/available", retry_after=3)
    code, out, err = cli_run("hardware")
    assert code == 0
    assert "NVIDIA_L4_1" in out
    assert err.splitlines() == [
        "python -m pulumi_cortecs: retrying (2/5): GET /hardware-types/available failed with "
        "HTTP 503: Service Unavailable (injected); next attempt in 3.0 s",
        "python -m pulumi_cortecs: retrying (3/5): GET /hardware-types/available failed with "
        "HTTP 503: Service Unavailable (injected); next attempt in 3.0 s",
    ]
    assert cortecs_clock.sleeps == [3.0, 3.0]


def test_verbose_shows_each_request_and_leaves_logging_as_it_was(
    cli_run: Run, backend: FakeBackend
) -> None:
    levels = {name: logging.getLogger(name).level for name in ("httpx", "pulumi_cortecs.api")}
    code, _, err = cli_run("hardware", "--verbose")
    assert code == 0
    assert err.splitlines() == [
        "python -m pulumi_cortecs: HTTP Request: GET "
        f'https://cortecs.ai/api/v1/{path} "HTTP/1.1 200 OK"'
        for path in ("hardware-types/available", "hardware-types/")
    ]
    assert {name: logging.getLogger(name).level for name in levels} == levels
    assert not logging.getLogger("httpx").handlers

    code, _, err = cli_run("hardware")
    assert (code, err) == (0, "")


# as a subprocess, against the fake over HTTP


def run_module(
    fake: FakeApiProcess, *argv: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pulumi_cortecs", *argv],
        cwd=PROJECT_ROOT,
        env=module_env(fake),
        input=stdin if stdin is not None else "",  # a pipe: never a terminal
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def module_env(fake: FakeApiProcess) -> dict[str, str]:
    return without_credentials(
        CORTECS_API_BASE_URL=fake.api_base_url,
        CORTECS_CLIENT_ID=DEMO_CLIENT_ID,
        CORTECS_CLIENT_SECRET=DEMO_CLIENT_SECRET,
    )


def start_over_http(fake: FakeApiProcess, count: int = 1) -> list[str]:
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, fake.api_base_url) as client:
        return [client.start(InstanceArgs(model_id=LLAMA_ID)).instance_id for _ in range(count)]


def test_module_watch_until_running(cortecs_api: FakeApiProcess) -> None:
    (instance_id,) = start_over_http(cortecs_api)
    watched = run_module(cortecs_api, "instances", instance_id, "--watch")
    assert watched.returncode == 0, watched.stderr
    # The fake's steps are 50 ms: how many the watch saw depends on how fast it started.
    *steps, last = watched.stderr.splitlines()
    assert all(re.match(rf"{instance_id}  pending [1-5]/5 \w", line) for line in steps)
    assert re.fullmatch(
        rf"{instance_id}  running  http://\S+/serve/{instance_id}/v1  \(\d+s\)", last
    )
    assert re.search(rf"^{instance_id}\s.*\srunning\s", watched.stdout, re.MULTILINE)


def test_module_watch_of_an_instance_stopped_meanwhile(cortecs_api: FakeApiProcess) -> None:
    cortecs_api.configure(step_seconds=600)  # it stays in step 1 for this test
    (instance_id,) = start_over_http(cortecs_api)
    with subprocess.Popen(
        [sys.executable, "-m", "pulumi_cortecs", "instances", instance_id, "--watch"],
        cwd=PROJECT_ROOT,
        env=module_env(cortecs_api),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as watch:
        assert watch.stderr is not None
        first = watch.stderr.readline()
        assert first.startswith(f"{instance_id}  pending 1/5 Allocating hardware  (")
        cortecs_api.stop_instance(instance_id)  # stopped by someone else during the boot
        rest = watch.stderr.read().splitlines()
        assert watch.wait(timeout=30) == cli.EXIT_API_ERROR
    assert re.fullmatch(rf"{instance_id}  stopped  \(\d+s\)", rest[0])
    assert "was stopped while waiting for it to run" in rest[1]


def test_module_stop_and_delete(cortecs_api: FakeApiProcess) -> None:
    first, second = start_over_http(cortecs_api, 2)

    refused = run_module(cortecs_api, "stop", first)
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr

    stopped = run_module(cortecs_api, "stop", first, "--yes", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["stopped"][0]["outcome"] == "stopped"

    deleted = run_module(cortecs_api, "delete", first, second, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    outcomes = {line.split()[0]: line for line in deleted.stdout.splitlines()[1:]}
    assert outcomes[first].endswith("stopped  deleted")
    assert outcomes[second].endswith("stopped and deleted")  # it was booting or running
    assert cortecs_api.instances() == []


def test_module_retries_are_visible(cortecs_api: FakeApiProcess) -> None:
    cortecs_api.faults(fail_next={"status": 503, "times": 1, "path": "/models", "retry_after": 0})
    result = run_module(cortecs_api, "models", "--json")
    assert result.returncode == 0, result.stderr
    assert "retrying (2/5): GET /models/ failed with HTTP 503" in result.stderr
    assert "next attempt in 0.0 s" in result.stderr


def test_module_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_cortecs", "--version"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("pulumi-cortecs-instances ")


def test_readme_cli_example_runs_as_written(tmp_path: Path) -> None:
    """The README's "Try it against the local API" block, with a free port and 50 ms steps."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("Try it against the local API") :]
    block = section[section.index("```bash\n") + len("```bash\n") :]
    block = block[: block.index("```")]
    assert "--port 8712 --step-seconds 5 &" in block
    port = unused_port()
    script = block.replace("8712", str(port)).replace("--step-seconds 5", "--step-seconds 0.05")
    # Whatever happens, the fake the script starts does not outlive it.
    (tmp_path / "example.sh").write_text(
        f"set -e\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n{script}"
    )
    env = without_credentials(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        ["bash", str(tmp_path / "example.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "meta-llama/Meta-Llama-3.1-8B-Instruct  NVIDIA_L4_1 *" in result.stdout
    assert re.search(r"^instance-1  running  http://\S+/serve/instance-1/v1  ", result.stderr, re.M)
    assert re.search(r"^instance-1 .* running\s+stopped and deleted$", result.stdout, re.M)
