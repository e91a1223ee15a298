"""What the README states about the code and the benchmarks, checked against them: the thread
cap, the dependency floors, the CLI's commands and exit codes, the fake's init steps, the
release pins, how late a wait sees ``running`` and the pytest fixtures."""

from __future__ import annotations

import re
import subprocess

from packaging.requirements import Requirement
from pulumi_cortecs._exceptions import WaitTimeoutError
from pulumi_cortecs.cli._commands import COMMANDS, with_credentials
from pulumi_cortecs.cli._errors import EXIT_API_ERROR, Situation, failure, join_names
from pulumi_cortecs.resource._server_pool import SERVER_THREADS
from pulumi_cortecs.testing.fake.catalog import INIT_STEP_DESCRIPTIONS

from tests import PROJECT_ROOT
from tests.test_packaging import PROJECT

README = (PROJECT_ROOT / "README.md").read_text()
BENCHMARKS = (PROJECT_ROOT / "BENCHMARKS.md").read_text()


def section(heading: str) -> str:
    """The README's section under ``## heading``, up to the next one."""
    start = README.index(f"\n## {heading}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else None]


def floor(name: str) -> str:
    (requirement,) = [Requirement(r) for r in PROJECT["dependencies"] if r.startswith(name)]
    (bound,) = [s.version for s in requirement.specifier if s.operator == ">="]
    return bound


def test_both_providers_run_as_many_calls_at_once_as_the_server_pool_allows() -> None:
    assert "no thread cap" not in README
    assert f"each runs up to {SERVER_THREADS} calls at once" in README
    assert f"up to {SERVER_THREADS}, as many as the native plugin runs" in " ".join(README.split())


def test_troubleshooting_names_the_floors_of_pyproject() -> None:
    said = re.search(r"`pulumi` is older than ([\d.]+) or `pydantic` older than ([\d.]+)", README)
    assert said, "the Troubleshooting row on old dependencies is gone"
    assert (said[1], said[2]) == (floor("pulumi"), floor("pydantic"))


def test_the_cli_section_has_every_command_its_json_keys_and_credentials() -> None:
    cli = section("Pick a model and hardware")
    for command in COMMANDS:
        assert f"python -m pulumi_cortecs {command.name}" in cli, command.name
        assert f'`{{"{command.json_key}": [...]}}`' in cli, command.json_key
    assert f"{join_names(with_credentials())} need" in cli


def test_the_watch_sample_shows_each_step_the_fake_walks_through() -> None:
    sample = section("Pick a model and hardware").split("`--watch` prints", 1)[1]
    steps = re.findall(r"^instance-1  pending (\d)/(\d) (.+?)  \(\d+s\)$", sample, re.M)
    count = len(INIT_STEP_DESCRIPTIONS)
    assert steps == [(str(n), str(count), text) for n, text in enumerate(INIT_STEP_DESCRIPTIONS, 1)]
    assert re.search(r"^instance-1  running  http://\S+  \(\d+s\)$", sample, re.M)


def test_the_exit_codes_cover_a_watch_that_times_out() -> None:
    situation = Situation("instances", (), "https://cortecs.ai/api/v1", "the default")
    found = failure(WaitTimeoutError("not running after 15 s"), situation)
    assert found is not None and found.exit_code == EXIT_API_ERROR == 1
    exit_codes = section("Pick a model and hardware").split("Exit codes:", 1)[1]
    one = exit_codes.split("; 2 ", 1)[0]
    assert "not running within `--timeout`" in " ".join(one.split())


def test_the_readme_pins_no_tag_the_repository_lacks() -> None:
    pinned = set(re.findall(r"git\+\S+@(v\d[\w.]*)", README))
    if not pinned:
        assert "pin a commit" in README
        return
    tags = subprocess.run(
        ["git", "tag", "--list"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert pinned <= set(tags), f"{pinned - set(tags)} are not tags"


def test_how_late_a_wait_sees_running_is_what_the_benchmarks_goal_holds_it_to() -> None:
    """The README promises a tenth of the boot (about 1 s for 10 s), not a flat 1 s: the
    benchmark measures just over 1 s for boots just over 10 s, within its goal."""
    assert "at most 1 s late" not in README
    assert "at most a tenth of the boot late" in " ".join(README.split())
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in BENCHMARKS.splitlines()
        if line.startswith("| 1. readiness:") and "| max lag |" in line
    ]
    assert rows
    for _, _, ours, _, _, goal, met in rows:
        assert (goal, met) == ("<= max(1 s, 10% of boot)", "yes"), ours


def test_the_readme_lists_every_fixture_the_plugin_registers() -> None:
    plugin = PROJECT_ROOT / "provider" / "pulumi_cortecs" / "testing" / "pytest_plugin.py"
    registered = re.findall(r"^@pytest\.fixture.*\ndef (\w+)\(", plugin.read_text(), re.M)
    listed = re.findall(r"^\| `(cortecs_\w+)` \| (?:test|session) \|", README, re.M)
    assert registered and listed == registered
