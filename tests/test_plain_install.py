"""The fake API runs from a plain install: ``pip install`` of the project without extras, into a
fresh virtual environment, serves the catalog with ``python -m pulumi_cortecs.testing.fake``.
respx, which only the ``testing`` extra installs, is imported only by the in-process mock, which
says so; the GitHub workflows start the fake exactly this way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests import PROJECT_ROOT

# A fresh install resolves every dependency: seconds with pip's cache, more without it.
INSTALL_TIMEOUT_SECONDS = 600


def copy_of_the_project(into: Path) -> Path:
    """What ``pip install .`` builds from, copied so the build leaves nothing in the work tree."""
    source = into / "source"
    shutil.copytree(
        PROJECT_ROOT / "provider",
        source / "provider",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    return source


def fresh_venv(path: Path) -> Path:
    """A virtual environment of its own (no system site-packages), and its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def plain_environment() -> dict[str, str]:
    """This environment without what would let the new one import this one's packages."""
    hidden = {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP"}
    return {key: value for key, value in os.environ.items() if key not in hidden}


def test_pip_install_without_extras_then_the_fake_serves_the_catalog(tmp_path: Path) -> None:
    source = copy_of_the_project(tmp_path)
    python = fresh_venv(tmp_path / "venv")
    # This environment's pip installs into the new one (`pip --python`): the same resolver and
    # cache as a pip inside it, without bootstrapping one there.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(source)],
        check=True,
        env=plain_environment(),
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    found = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util, pulumi_cortecs; "
            "print(pulumi_cortecs.__file__); print(importlib.util.find_spec('respx'))",
        ],
        cwd=tmp_path,
        env=plain_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    installed_at, respx = found.stdout.splitlines()
    assert Path(installed_at).is_relative_to(tmp_path / "venv"), "not the installed copy"
    assert respx == "None", "respx is installed: this would not prove anything"
    # The in-process fake alone needs respx, and says which extra brings it.
    mock = subprocess.run(
        [str(python), "-c", "from pulumi_cortecs.testing import mock_api"],
        cwd=tmp_path,
        env=plain_environment(),
        capture_output=True,
        text=True,
    )
    assert mock.returncode != 0
    assert "needs respx: install the package with its `testing` extra" in mock.stderr

    fake = subprocess.Popen(
        [str(python), "-u", "-m", "pulumi_cortecs.testing.fake", "--port", "0"],
        cwd=tmp_path,
        env=plain_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert fake.stdout is not None
    try:
        # Its first line is where it listens (nothing, when it failed to start).
        api_base_url = fake.stdout.readline().decode().strip()
        models = httpx.get(f"{api_base_url}/models/", timeout=10) if api_base_url else None
    finally:
        fake.terminate()
        _, stderr = fake.communicate(timeout=10)
    assert models is not None, f"the fake did not start:\n{stderr.decode()}"
    assert api_base_url.endswith("/api/v1")
    assert models.status_code == 200
    assert models.json()["models"], "an empty catalog"
