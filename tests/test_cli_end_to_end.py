"""`pulumi up` / `pulumi destroy` of the dev stack with the real CLI, when it is installed.

Everything else drives the provider the way the engine does; this checks the engine itself,
for users who have it. It runs on a copy of the project so the stack files stay untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pulumi_cortecs.testing.processes import FakeApiProcess

from tests import PROJECT_ROOT

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(
        shutil.which("pulumi") is None,
        reason="the Pulumi CLI is not on PATH; the engine-protocol tests cover the provider",
    ),
]


def pulumi(project: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{project / '.pulumi-state'}",
        "PULUMI_CONFIG_PASSPHRASE": "cli-end-to-end",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    done = subprocess.run(
        ["pulumi", *args, "--non-interactive"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_up_then_destroy_the_dev_stack(tmp_path: Path, cortecs_api: FakeApiProcess) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "stacks", "examples"):
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy(source, project / name)
    (project / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    (project / ".pulumi-state").mkdir()

    outputs = up_preview_destroy(project, cortecs_api)
    assert outputs["chat_chat_openai_args"]["model_name"] == "meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_up_then_destroy_the_yaml_example_through_the_native_provider(
    tmp_path: Path, cortecs_api: FakeApiProcess
) -> None:
    project = tmp_path / "examples" / "yaml"
    shutil.copytree(PROJECT_ROOT / "examples" / "yaml", project)
    # The program finds the plugin at ../../provider, as in the checkout; it reuses the
    # project's virtualenv instead of creating provider/venv.
    shutil.copytree(PROJECT_ROOT / "provider", tmp_path / "provider", ignore=_generated)
    (tmp_path / "provider" / "venv").symlink_to(PROJECT_ROOT / ".venv")
    (project / ".pulumi-state").mkdir()
    outputs = up_preview_destroy(project, cortecs_api)
    assert outputs["chatOpenaiArgs"]["model_name"] == "meta-llama/Meta-Llama-3.1-8B-Instruct"
    assert outputs["chatBaseUrl"] and outputs["smallBaseUrl"]


def up_preview_destroy(project: Path, api: FakeApiProcess) -> dict[str, Any]:
    """The dev stack's outputs after `pulumi up` (two instances), once a second preview planned
    no change and `pulumi destroy` left no instance."""
    pulumi(project, "stack", "select", "dev", "--create")
    pulumi(project, "config", "set", "cortecs:apiBaseUrl", api.api_base_url, "--stack", "dev")
    pulumi(project, "up", "--yes", "--stack", "dev")
    outputs: dict[str, Any] = json.loads(
        pulumi(project, "stack", "output", "--json", "--stack", "dev")
    )
    assert len(api.instances()) == 2
    assert "2 unchanged" in pulumi(project, "preview", "--diff", "--stack", "dev")
    pulumi(project, "destroy", "--yes", "--stack", "dev")
    assert api.instances() == []
    return outputs


def _generated(directory: str, names: list[str]) -> list[str]:
    return [name for name in names if name in {"venv", "__pycache__"} or name.endswith(".egg-info")]
