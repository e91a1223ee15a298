"""The GitHub workflows, checked at the schema level (no GitHub needed; ./scripts/test.sh also
runs actionlint on them).

Pull requests preview dev only, with dev's secrets; pushes to main apply dev; prod is previewed
or applied only by hand, on main, with a typed confirmation for an apply, and only its job holds
prod's secrets (environment `production`). One apply per stack at a time, the provider's journal
carried between runs per stack, the locked dependencies, actions pinned by commit SHA, and
credentials only from secrets.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
FILES = sorted(path.name for path in WORKFLOWS.glob("*.yml"))
PULUMI_WORKFLOWS = ["deploy-prod.yml", "deploy.yml", "preview.yml"]
STACKS = sorted(
    path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    for path in (PROJECT_ROOT / "stacks").glob("Pulumi.*.yaml")
)
# Pinned by commit SHA (tags can be moved), with the release it is, as a comment, for people.
SHA_PINNED = re.compile(
    r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+(?:/[\w./-]+)?)@([0-9a-f]{40}) # (v\d+)\.\d+\.\d+$"
)
# The majors the SHAs belong to (checked against the actions' repositories when pinned).
CURRENT_MAJORS = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/cache/restore": "v5",
    "actions/cache/save": "v5",
    "pulumi/actions": "v7",
}
SECRET_REFERENCE = re.compile(r"^\$\{\{\s*secrets\.([A-Z][A-Z0-9_]*)\s*\}\}$")
ANY_SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}")
SENSITIVE_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSPHRASE|API_KEY|CLIENT_ID|BACKEND_URL")
REQUIRED_SECRETS = {
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_BACKEND_URL",
    "CORTECS_CLIENT_ID",
    "CORTECS_CLIENT_SECRET",
    "CORTECS_API_KEY",
}
PYPROJECT_PYTHON = next(
    line.split('"')[1]
    for line in (PROJECT_ROOT / "pyproject.toml").read_text().splitlines()
    if line.startswith("requires-python")
)


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    return document


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict)
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(f"{action}@")]


def pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return uses(job, "pulumi/actions")


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def envs(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield workflow.get("env") or {}
    for job in workflow["jobs"].values():
        yield job.get("env") or {}
        for step in steps(job):
            yield step.get("env") or {}


def pulumi_jobs() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in PULUMI_WORKFLOWS:
        for job in load(name)["jobs"].values():
            if pulumi_steps(job):
                yield name, job


@pytest.fixture(scope="module", params=PULUMI_WORKFLOWS)
def workflow(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_the_workflows_are_the_expected_ones() -> None:
    assert FILES == ["deploy-prod.yml", "deploy.yml", "preview.yml", "reap.yml", "test.yml"]


def test_the_stack_files_are_the_expected_ones() -> None:
    assert STACKS == ["dev", "prod"]
    pulumi_yaml = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert pulumi_yaml["stackConfigDir"] == "stacks"
    assert pulumi_yaml["runtime"]["options"]["virtualenv"] == ".venv"


def test_the_test_command_runs_actionlint_on_them() -> None:
    assert '"$VENV/bin/actionlint"' in (PROJECT_ROOT / "scripts" / "test.sh").read_text()


# preview.yml


def test_preview_runs_on_pull_requests_only() -> None:
    on = triggers(load("preview.yml"))
    assert set(on) == {"pull_request"}
    assert on["pull_request"]["branches"] == ["main"]


def test_preview_permissions_allow_the_pr_comment_and_nothing_more() -> None:
    assert load("preview.yml")["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_pull_requests_preview_dev_and_never_see_prod() -> None:
    (job,) = load("preview.yml")["jobs"].values()
    assert job["strategy"]["matrix"]["stack"] == ["dev"]
    assert job["strategy"]["fail-fast"] is False
    # Each stack's secrets come from its own environment: dev's, never production's.
    assert job["environment"] == "${{ matrix.stack }}"
    (step,) = pulumi_steps(job)
    inputs = step["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["comment-on-pr"] is True
    assert inputs["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    # Previews of one PR and stack replace each other.
    assert "matrix.stack" in job["concurrency"]["group"]
    assert "pull_request.number" in job["concurrency"]["group"]


def test_dev_previews_compare_with_the_persistent_state() -> None:
    """The local API starts empty in each job: a refresh would show every instance as created,
    so stacks on it are previewed against the backend's state; others are refreshed."""
    (job,) = load("preview.yml")["jobs"].values()
    (api,) = [s for s in steps(job) if s.get("id") == "api"]
    assert 'echo "local=true" >> "$GITHUB_OUTPUT"' in api["run"]
    assert 'echo "local=false" >> "$GITHUB_OUTPUT"' in api["run"]
    (step,) = pulumi_steps(job)
    assert step["with"]["refresh"] == "${{ steps.api.outputs.local != 'true' }}"


# deploy.yml: dev


def test_deploy_applies_dev_on_pushes_to_main_and_nothing_else() -> None:
    workflow = load("deploy.yml")
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"]}
    assert set(on) == {"push", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    stacks = [s["with"]["stack-name"] for j in workflow["jobs"].values() for s in pulumi_steps(j)]
    assert stacks == ["dev"]
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "dev"
    (step,) = pulumi_steps(job)
    assert step["with"]["command"] == "up"
    assert step["with"]["refresh"] is True


# deploy-prod.yml


def prod_workflow() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    workflow = load("deploy-prod.yml")
    jobs = workflow["jobs"]
    return workflow, jobs["check"], jobs["prod"]


def test_prod_runs_only_by_hand_with_a_command_and_a_confirmation() -> None:
    workflow, _, _ = prod_workflow()
    on = triggers(workflow)
    assert set(on) == {"workflow_dispatch"}
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["command"]["type"] == "choice"
    assert inputs["command"]["options"] == ["preview", "up"]
    assert inputs["command"]["default"] == "preview"  # by default nothing is applied
    assert inputs["confirm"]["type"] == "string"
    assert workflow["permissions"] == {"contents": "read"}


def test_prod_secrets_only_after_the_check_and_only_in_production() -> None:
    _, check, prod = prod_workflow()
    assert "environment" not in check and not ANY_SECRET.search("\n".join(strings(check)))
    assert prod["needs"] in ("check", ["check"])
    assert prod["environment"] == "production"
    (step,) = pulumi_steps(prod)
    assert step["with"]["stack-name"] == "prod"
    assert step["with"]["command"] == "${{ inputs.command }}"
    # No other workflow touches prod or its environment.
    for name in ("preview.yml", "deploy.yml", "test.yml"):
        text = (WORKFLOWS / name).read_text()
        assert "environment: production" not in text
        assert "stack-name: prod" not in text


def run_check(check: dict[str, Any], ref: str, command: str, confirm: str) -> tuple[int, str]:
    (step,) = steps(check)
    env = {**os.environ, "REF": ref, "COMMAND": command, "CONFIRM": confirm, "GITHUB_SHA": "abc"}
    assert set(step["env"]) == {"REF", "COMMAND", "CONFIRM"}  # inputs reach bash as variables
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=10
    )
    return done.returncode, done.stdout


@pytest.mark.parametrize(
    ("ref", "command", "confirm", "allowed"),
    [
        ("refs/heads/main", "up", "apply prod", True),
        ("refs/heads/main", "preview", "", True),
        ("refs/heads/main", "up", "", False),
        ("refs/heads/main", "up", "yes", False),
        ("refs/heads/main", "up", "apply prod ", False),
        ("refs/heads/main", "up", "Apply prod", False),
        ("refs/heads/feature", "up", "apply prod", False),
        ("refs/heads/feature", "preview", "", False),
        ("refs/tags/v1.0.0", "up", "apply prod", False),
    ],
)
def test_the_check_lets_through_only_main_and_the_typed_confirmation(
    ref: str, command: str, confirm: str, allowed: bool
) -> None:
    _, check, _ = prod_workflow()
    code, out = run_check(check, ref, command, confirm)
    assert (code == 0) is allowed
    if not allowed:
        assert "::error::" in out


# every workflow that runs Pulumi


def test_applies_never_overlap_per_stack() -> None:
    groups: dict[str, set[str]] = {}
    for _, job in pulumi_jobs():
        (step,) = pulumi_steps(job)
        if step["with"]["command"] == "preview" and "pull_request" in str(job["concurrency"]):
            continue  # PR previews cancel each other; they never change a stack
        stack = step["with"]["stack-name"]
        assert job["concurrency"]["cancel-in-progress"] is False
        assert stack in job["concurrency"]["group"]
        groups.setdefault(stack, set()).add(job["concurrency"]["group"])
    assert groups == {"dev": {"pulumi-up-dev"}, "prod": {"pulumi-up-prod"}}


def test_applies_carry_the_providers_journal_between_runs_per_stack() -> None:
    """A fresh runner without the journal would not know an instance an interrupted create
    started: the directory is in the workspace and cached, restored before and saved after
    every apply, whatever its outcome."""
    applies = 0
    for _, job in pulumi_jobs():
        (pulumi,) = pulumi_steps(job)
        if pulumi["with"]["command"] == "preview":
            continue
        applies += 1
        stack = job["env"]["STACK"]
        assert job["env"]["CORTECS_JOURNAL_DIR"] == "${{ github.workspace }}/.cortecs-journal"
        (restore,) = uses(job, "actions/cache/restore")
        (save,) = uses(job, "actions/cache/save")
        names = [str(s.get("uses", "")) for s in steps(job)]
        assert names.index(restore["uses"]) < names.index(pulumi["uses"])
        assert names.index(pulumi["uses"]) < names.index(save["uses"])
        assert save["if"] == "always()"
        for cache in (restore, save):
            assert cache["with"]["path"] == ".cortecs-journal"
            # Cache keys cannot be overwritten: one per run, found again by the stack's prefix.
            assert cache["with"]["key"] == (
                f"cortecs-journal-{stack}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"
            )
        assert restore["with"]["restore-keys"] == f"cortecs-journal-{stack}-"
    assert applies == 2  # dev's deploy and prod's (preview or up: the command is an input)


def test_pulumi_runs_the_pinned_cli_after_installing_the_lock(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        if not pulumi_steps(job):
            continue
        job_steps = steps(job)
        names = [str(s.get("uses", "")) for s in job_steps]
        pulumi_at = next(i for i, n in enumerate(names) if n.startswith("pulumi/actions@"))
        before = job_steps[:pulumi_at]
        assert names[0].startswith("actions/checkout@")
        assert job_steps[0]["with"]["persist-credentials"] is False
        assert any(n.startswith("actions/setup-python@") for n in names[:pulumi_at])
        scripts = "\n".join(str(s.get("run", "")) for s in before)
        assert "python -m venv .venv" in scripts
        # Exactly the locked versions, checked against their hashes; the project adds nothing.
        assert "pip install --require-hashes --no-deps -r requirements.lock" in scripts
        assert re.search(r"\.venv/bin/python -m pip install --no-deps -e \.", scripts)
        (step,) = pulumi_steps(job)
        assert step["with"]["work-dir"] == "./"
        assert step["with"]["pulumi-version-file"] == ".pulumi.version"


@pytest.mark.parametrize("name", FILES)
def test_actions_are_pinned_by_commit_to_current_majors(name: str) -> None:
    lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        pinned = SHA_PINNED.match(line)
        assert pinned, f"{line.strip()} is not pinned to a commit with its version as a comment"
        action, _, major = pinned.groups()
        assert CURRENT_MAJORS[action] == major, f"{action} is not at {CURRENT_MAJORS[action]}"


def test_each_action_is_pinned_to_one_commit_everywhere() -> None:
    commits: dict[str, set[str]] = {}
    for name in FILES:
        for line in (WORKFLOWS / name).read_text().splitlines():
            pinned = SHA_PINNED.match(line)
            if pinned:
                action = pinned[1].removesuffix("/restore").removesuffix("/save")
                commits.setdefault(action, set()).add(pinned[2])
    assert all(len(shas) == 1 for shas in commits.values()), commits


def test_secrets_come_from_each_stacks_environment(workflow: dict[str, Any]) -> None:
    referenced = {name for text in strings(workflow) for name in ANY_SECRET.findall(text)}
    assert referenced >= REQUIRED_SECRETS
    for job in workflow["jobs"].values():
        job_secrets = set(ANY_SECRET.findall("\n".join(strings(job)))) - {"GITHUB_TOKEN"}
        if not job_secrets:
            continue
        # Environment secrets: prod's never reach a job of another stack or a pull request.
        assert "environment" in job
        env = job.get("env") or {}
        for name in (
            "CORTECS_CLIENT_ID",
            "CORTECS_CLIENT_SECRET",
            "CORTECS_API_KEY",
            "PULUMI_ACCESS_TOKEN",
        ):
            assert env[name] == f"${{{{ secrets.{name} }}}}"
        # OPENAI_API_KEY is not the instances' key: nothing reads it, so nothing sets it.
        assert "OPENAI_API_KEY" not in env


def test_no_credential_is_inline(workflow: dict[str, Any]) -> None:
    for env in envs(workflow):
        for name, value in env.items():
            if SENSITIVE_NAME.search(name):
                assert SECRET_REFERENCE.match(str(value)), f"{name} must come from secrets"
    for job in workflow["jobs"].values():
        for step in steps(job):
            # Scripts read secrets and inputs from env, never expand them into the command line.
            assert not ANY_SECRET.search(str(step.get("run", "")))
            assert "${{ inputs." not in str(step.get("run", ""))
            for key, value in (step.get("with") or {}).items():
                if SENSITIVE_NAME.search(key.upper().replace("-", "_")):
                    assert SECRET_REFERENCE.match(str(value)), f"{key} must come from secrets"
    text = "\n".join(strings(workflow))
    assert "demo-client-secret" not in text
    assert not re.search(r"\bpul-[0-9a-f]{20,}", text)  # a Pulumi access token


def test_the_local_api_is_started_exactly_for_stacks_that_use_it() -> None:
    checked = 0
    for name in ("preview.yml", "deploy.yml"):
        for job in load(name)["jobs"].values():
            for step in steps(job):
                script = str(step.get("run", ""))
                found = re.search(
                    r"grep -Eq '([^']+)' \"stacks/Pulumi\.\$\{STACK\}\.yaml\"", script
                )
                if not found:
                    continue
                pattern = re.compile(found[1])  # the ERE is also a Python regex
                checked += 1
                uses_local = {
                    stack
                    for stack in STACKS
                    if pattern.search(
                        (PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
                    )
                }
                assert uses_local == {"dev"}
                assert "python -u -m pulumi_cortecs.testing.fake --port 8711" in script
    assert checked == 2, "preview and deploy of dev each start the local API"


# test.yml


def test_tests_run_on_every_change_with_the_newest_and_the_lowest_dependencies() -> None:
    workflow = load("test.yml")
    on = triggers(workflow)
    assert "pull_request" in on and on["push"] == {"branches": ["main"]}
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    latest, lowest = jobs["latest"], jobs["lowest"]
    assert [s["run"] for s in steps(latest) if "run" in s] == ["./scripts/test.sh"]
    assert [s["run"] for s in steps(lowest) if "run" in s] == ["./scripts/test-lowest.sh"]
    # The floors are proven on the oldest Python pyproject.toml allows, the newest on all.
    oldest = PYPROJECT_PYTHON.removeprefix(">=")
    assert oldest in latest["strategy"]["matrix"]["python"]
    (setup,) = uses(lowest, "actions/setup-python")
    assert setup["with"]["python-version"] == oldest
    assert not ANY_SECRET.search("\n".join(strings(workflow)))


# reap.yml


def test_reap_runs_every_ten_minutes_and_by_hand_for_each_stack() -> None:
    workflow = load("reap.yml")
    on = triggers(workflow)
    assert on == {"schedule": [{"cron": "*/10 * * * *"}], "workflow_dispatch": None}
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    stacks = {
        entry["stack"]: entry["environment"] for entry in job["strategy"]["matrix"]["include"]
    }
    assert stacks == {"dev": "dev", "prod": "production"}
    assert job["environment"] == "${{ matrix.environment }}"
    assert job["concurrency"] == {
        "group": "cortecs-reap-${{ matrix.stack }}",
        "cancel-in-progress": False,
    }
    (reap,) = [step for step in steps(job) if "cortecs-instances reap" in str(step.get("run"))]
    assert reap["run"] == ".venv/bin/cortecs-instances reap"


def test_reap_reads_the_journal_the_deploys_use_and_never_saves_it() -> None:
    """The S3 journal when the repository names one, else the stack's newest cached journal,
    restored only: a save could replace a newer journal a deploy saved meanwhile."""
    (job,) = load("reap.yml")["jobs"].values()
    assert job["env"]["CORTECS_JOURNAL_URL"] == "${{ vars.CORTECS_JOURNAL_URL }}"
    assert job["env"]["CORTECS_JOURNAL_DIR"] == "${{ github.workspace }}/.cortecs-journal"
    (restore,) = uses(job, "actions/cache/restore")
    assert not uses(job, "actions/cache/save")
    assert "vars.CORTECS_JOURNAL_URL == ''" in restore["if"]
    assert restore["with"]["path"] == ".cortecs-journal"
    assert restore["with"]["restore-keys"] == "cortecs-journal-${{ matrix.stack }}-"
    for name, value in job["env"].items():
        if SENSITIVE_NAME.search(name) or name.startswith("AWS_SECRET"):
            assert SECRET_REFERENCE.match(value), name
