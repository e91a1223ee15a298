"""The Quick start scripts: shell syntax, and a clear refusal when the Pulumi CLI is missing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import PROJECT_ROOT

SCRIPTS = sorted((PROJECT_ROOT / "scripts").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_scripts_parse(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_deploy_without_the_cli_says_how_to_install_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "cat"):
        (bin_dir / tool).symlink_to(subprocess.check_output(["which", tool], text=True).strip())
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "deploy-local.sh")],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Pulumi CLI is not on PATH" in done.stderr
    assert "install" in done.stderr
