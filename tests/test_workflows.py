"""The GitOps workflows, checked at the schema level (no GitHub needed).

Previews on pull requests for every stack in stacks/, applies on pushes to main, one apply per
stack at a time, actions pinned to exact versions, and credentials only from secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
STACKS = sorted(
    path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    for path in (PROJECT_ROOT / "stacks").glob("Pulumi.*.yaml")
)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")
SECRET_REFERENCE = re.compile(r"^\$\{\{\s*secrets\.([A-Z][A-Z0-9_]*)\s*\}\}$")
ANY_SECRET = re.compile(r"\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}")
SENSITIVE_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSPHRASE|API_KEY|CLIENT_ID|BACKEND_URL")
PYPROJECT_PYTHON = next(
    line.split('"')[1]
    for line in (PROJECT_ROOT / "pyproject.toml").read_text().splitlines()
    if line.startswith("requires-python")
)
REQUIRED_SECRETS = {
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_BACKEND_URL",
    "CORTECS_CLIENT_ID",
    "CORTECS_CLIENT_SECRET",
    "CORTECS_API_KEY",
}


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


def pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@")]


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


@pytest.fixture(scope="module", params=["preview.yml", "deploy.yml"])
def workflow(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_the_stack_files_are_the_expected_ones() -> None:
    assert STACKS == ["dev", "prod"]
    pulumi_yaml = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert pulumi_yaml["stackConfigDir"] == "stacks"
    assert pulumi_yaml["runtime"]["options"]["virtualenv"] == ".venv"


# preview.yml


def test_preview_runs_on_pull_requests_only() -> None:
    on = triggers(load("preview.yml"))
    assert set(on) == {"pull_request"}
    assert on["pull_request"]["branches"] == ["main"]


def test_preview_permissions_allow_the_pr_comment_and_nothing_more() -> None:
    assert load("preview.yml")["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_preview_covers_every_stack_and_comments_on_the_pr() -> None:
    (job,) = load("preview.yml")["jobs"].values()
    assert sorted(job["strategy"]["matrix"]["stack"]) == STACKS
    assert job["strategy"]["fail-fast"] is False
    (step,) = pulumi_steps(job)
    inputs = step["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["comment-on-pr"] is True
    assert inputs["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    # Previews of one PR and stack replace each other.
    assert "matrix.stack" in job["concurrency"]["group"]
    assert "pull_request.number" in job["concurrency"]["group"]


# deploy.yml


def deploy_jobs() -> dict[str, dict[str, Any]]:
    """The deploy jobs by the stack they apply."""
    by_stack: dict[str, dict[str, Any]] = {}
    for job_id, job in load("deploy.yml")["jobs"].items():
        for step in pulumi_steps(job):
            by_stack[step["with"]["stack-name"]] = {**job, "id": job_id}
    return by_stack


def test_deploy_runs_on_pushes_to_main() -> None:
    on = triggers(load("deploy.yml"))
    assert on["push"] == {"branches": ["main"]}
    assert "pull_request" not in on
    assert set(on) <= {"push", "workflow_dispatch"}


def test_deploy_is_read_only_for_github() -> None:
    assert load("deploy.yml")["permissions"] == {"contents": "read"}


def test_deploy_applies_every_stack_with_up() -> None:
    jobs = deploy_jobs()
    assert sorted(jobs) == STACKS
    for stack, job in jobs.items():
        (step,) = pulumi_steps(job)
        assert step["with"]["command"] == "up"
        assert step["with"]["stack-name"] == stack
        assert step["with"].get("comment-on-pr") is not True


def test_prod_waits_for_dev_and_an_approval() -> None:
    jobs = deploy_jobs()
    dev_job_id = jobs["dev"]["id"]
    assert jobs["prod"]["environment"] == "production"
    needs = jobs["prod"]["needs"]
    assert dev_job_id in ([needs] if isinstance(needs, str) else needs)
    assert "environment" not in jobs["dev"]


def test_applies_never_overlap_per_stack() -> None:
    groups = {}
    for stack, job in deploy_jobs().items():
        concurrency = job["concurrency"]
        assert concurrency["cancel-in-progress"] is False
        assert stack in concurrency["group"]
        groups[stack] = concurrency["group"]
    assert len(set(groups.values())) == len(groups)


# both


def test_actions_are_pinned_to_exact_versions(workflow: dict[str, Any]) -> None:
    uses = [s["uses"] for job in workflow["jobs"].values() for s in steps(job) if "uses" in s]
    assert uses
    for reference in uses:
        assert PINNED.match(reference), f"{reference} is not pinned to an exact version"
    assert "actions/checkout@v4.2.2" in uses
    assert "actions/setup-python@v5.6.0" in uses
    assert "pulumi/actions@v6.5.0" in uses


def test_pulumi_runs_after_installing_the_project_into_venv(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        job_steps = steps(job)
        names = [str(s.get("uses", "")) for s in job_steps]
        pulumi_at = next(i for i, n in enumerate(names) if n.startswith("pulumi/actions@"))
        before = job_steps[:pulumi_at]
        assert names[0].startswith("actions/checkout@")
        assert any(n.startswith("actions/setup-python@") for n in names[:pulumi_at])
        scripts = "\n".join(str(s.get("run", "")) for s in before)
        assert "python -m venv .venv" in scripts
        assert re.search(r"\.venv/bin/python -m pip install (.* )?-e \.", scripts)
        # Exactly the locked versions, checked against their hashes; the project adds nothing.
        assert "pip install --require-hashes --no-deps -r requirements.lock" in scripts
        assert re.search(r"pip install --no-deps -e \.", scripts)
        assert pulumi_steps(job)[0]["with"]["work-dir"] == "./"


def test_secrets_come_from_repository_secrets(workflow: dict[str, Any]) -> None:
    referenced = {name for text in strings(workflow) for name in ANY_SECRET.findall(text)}
    assert referenced >= REQUIRED_SECRETS
    for job in workflow["jobs"].values():
        env = job.get("env") or {}
        for name in ("CORTECS_CLIENT_ID", "CORTECS_CLIENT_SECRET", "PULUMI_ACCESS_TOKEN"):
            assert env[name] == f"${{{{ secrets.{name} }}}}"
        assert env["CORTECS_API_KEY"] == "${{ secrets.CORTECS_API_KEY }}"
        # OPENAI_API_KEY is not the instances' key: nothing reads it, so nothing sets it.
        assert "OPENAI_API_KEY" not in env


def test_no_credential_is_inline(workflow: dict[str, Any]) -> None:
    for env in envs(workflow):
        for name, value in env.items():
            if SENSITIVE_NAME.search(name):
                assert SECRET_REFERENCE.match(str(value)), f"{name} must come from secrets"
    for job in workflow["jobs"].values():
        for step in steps(job):
            # Scripts read secrets from env, never expand them into the command line.
            assert not ANY_SECRET.search(str(step.get("run", "")))
            for key, value in (step.get("with") or {}).items():
                if SENSITIVE_NAME.search(key.upper().replace("-", "_")):
                    assert SECRET_REFERENCE.match(str(value)), f"{key} must come from secrets"
    text = "\n".join(strings(workflow))
    assert "demo-client-secret" not in text
    assert not re.search(r"\bpul-[0-9a-f]{20,}", text)  # a Pulumi access token


def test_the_local_api_is_started_exactly_for_stacks_that_use_it(workflow: dict[str, Any]) -> None:
    checked = 0
    for job in workflow["jobs"].values():
        for step in steps(job):
            script = str(step.get("run", ""))
            found = re.search(r"grep -Eq '([^']+)' \"stacks/Pulumi\.\$\{STACK\}\.yaml\"", script)
            if not found:
                continue
            pattern = re.compile(found[1])  # the ERE is also a Python regex
            checked += 1
            uses_local = {
                stack
                for stack in STACKS
                if pattern.search((PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
            }
            assert uses_local == {"dev"}
            assert "python -u -m pulumi_cortecs.testing.fake --port 8711" in script
    assert checked, "no step starts the local API for the dev stack"


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
    (setup,) = [s for s in steps(lowest) if str(s.get("uses", "")).startswith("actions/setup")]
    assert setup["with"]["python-version"] == oldest
    assert not ANY_SECRET.search("\n".join(strings(workflow)))
    for job in jobs.values():
        for step in steps(job):
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
