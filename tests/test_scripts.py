"""The Quick start scripts: shell syntax, and how deploy-local.sh gets the Pulumi CLI.

The CLI install runs against stubs: a fake ``curl`` on a PATH of a few symlinked tools serves a
stub installer (or fails as curl does offline), and the stub CLI it installs records its calls
and ends the run at its first one, so no test reaches the network or deploys anything.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import PROJECT_ROOT

SCRIPTS = sorted((PROJECT_ROOT / "scripts").glob("*.sh"))
PINNED = (PROJECT_ROOT / ".pulumi.version").read_text().strip()
TOOLS = ("bash", "sh", "dirname", "cat", "tr", "mktemp", "rm", "mkdir", "chmod")
STUB_CLI_EXIT = 42
"""The stub CLI's exit code: the script went on to use the CLI, and stopped there."""

# The stub installer takes the official one's arguments and installs a CLI that logs its calls.
STUB_INSTALLER = """#!/bin/sh
echo "installer $*" >> "$STUB_LOG"
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    --install-root) root="$2"; shift 2 ;;
    *) shift ;;
  esac
done
mkdir -p "$root/bin"
cat > "$root/bin/pulumi" <<CLI
#!/bin/sh
echo "pulumi \\$*" >> "$STUB_LOG"
echo "v$version"
exit STUB_CLI_EXIT
CLI
chmod +x "$root/bin/pulumi"
""".replace("STUB_CLI_EXIT", str(STUB_CLI_EXIT))

FAKE_CURL = {
    # Writes the stub installer where -o says.
    "online": """#!/bin/bash
echo "curl $*" >> "$STUB_LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then cat "$STUB_INSTALLER" > "$2"; fi
  shift
done
""",
    # What curl does without DNS.
    "offline": """#!/bin/bash
echo "curl $*" >> "$STUB_LOG"
echo "curl: (6) Could not resolve host: get.pulumi.com" >&2
exit 6
""",
    # The download works but the installer's own download of the CLI does not.
    "installer fails": """#!/bin/bash
echo "curl $*" >> "$STUB_LOG"
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then printf '#!/bin/sh\\necho "error: offline" >&2\\nexit 1\\n' > "$2"; fi
  shift
done
""",
}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    log: list[str]


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A PATH with only the tools the scripts need before the CLI (no pulumi, no python)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    (tmp_path / "installer.sh").write_text(STUB_INSTALLER)
    return tmp_path


def run(sandbox: Path, script: str, curl: str | None) -> Run:
    if curl is not None:
        fake = sandbox / "bin" / "curl"
        fake.write_text(FAKE_CURL[curl])
        fake.chmod(0o755)
    log = sandbox / "calls.log"
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / script)],
        env={
            "PATH": str(sandbox / "bin"),
            "PULUMI_INSTALL_ROOT": str(sandbox / "pulumi-cli"),
            "STUB_LOG": str(log),
            "STUB_INSTALLER": str(sandbox / "installer.sh"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return Run(done.returncode, done.stdout, done.stderr, calls)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_scripts_parse(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_the_pinned_cli_is_an_exact_version() -> None:
    assert PINNED.count(".") == 2
    assert all(part.isdigit() for part in PINNED.split("."))


def test_deploy_installs_the_pinned_cli_into_the_project_and_goes_on(sandbox: Path) -> None:
    done = run(sandbox, "deploy-local.sh", curl="online")
    root = sandbox / "pulumi-cli"
    assert done.log[0].startswith("curl ")
    assert "https://get.pulumi.com" in done.log[0]
    assert done.log[1] == f"installer --version {PINNED} --install-root {root} --no-edit-path"
    # Then it used the CLI it installed (the stub ends the run there).
    assert done.log[2:] == ["pulumi version"]
    assert done.returncode == STUB_CLI_EXIT
    assert (root / "bin" / "pulumi").exists()
    assert f"installing version {PINNED} into {root}" in done.stderr
    assert f"Installed the Pulumi CLI {PINNED} in {root}/bin" in done.stderr


def test_a_second_run_uses_the_installed_cli_without_downloading(sandbox: Path) -> None:
    run(sandbox, "deploy-local.sh", curl="online")
    (sandbox / "calls.log").unlink()
    again = run(sandbox, "deploy-local.sh", curl="offline")
    assert again.log == ["pulumi version"]
    destroy = run(sandbox, "destroy-local.sh", curl="offline")
    assert destroy.log[-1] == "pulumi destroy --yes --non-interactive --stack dev"
    assert destroy.returncode == STUB_CLI_EXIT


def test_deploy_offline_says_what_failed_and_how_to_install(sandbox: Path) -> None:
    done = run(sandbox, "deploy-local.sh", curl="offline")
    assert done.returncode == 1
    assert len(done.log) == 1  # curl, and nothing after it
    assert "downloading the installer https://get.pulumi.com failed (curl exit code 6" in (
        done.stderr
    )
    assert f"curl -fsSL https://get.pulumi.com | sh -s -- --version {PINNED}" in done.stderr
    assert "brew install pulumi/tap/pulumi" in done.stderr
    assert not (sandbox / "pulumi-cli").exists()


def test_deploy_when_the_installer_fails(sandbox: Path) -> None:
    done = run(sandbox, "deploy-local.sh", curl="installer fails")
    assert done.returncode == 1
    assert "the installer failed (exit code 1)" in done.stderr
    assert "error: offline" in done.stderr  # the installer's own words are shown
    assert "Install the Pulumi CLI by hand" in done.stderr


def test_deploy_without_curl_says_so(sandbox: Path) -> None:
    done = run(sandbox, "deploy-local.sh", curl=None)
    assert done.returncode == 1
    assert "curl is not installed" in done.stderr
    assert "Install the Pulumi CLI by hand" in done.stderr
