"""The API reference builds from the docstrings without a warning (scripts/docs.py).

pdoc comes with the ``docs`` dependency group; the lowest-dependency run installs only the
``test`` group, and skips this.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import PROJECT_ROOT

pytest.importorskip("pdoc", reason="pdoc is in the docs dependency group")


def test_the_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "docs.py"), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    pages = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.html")}
    assert {
        "index.html",
        "pulumi_cortecs.html",
        "pulumi_cortecs/langchain.html",
        "pulumi_cortecs/testing.html",
        "pulumi_cortecs/testing/fake.html",
        # The module path stack state records (README, "Compatibility").
        "pulumi_cortecs/resource/dynamic_provider.html",
    } <= pages
    package = (tmp_path / "pulumi_cortecs.html").read_text()
    for documented in ("ManagedInstance", "ManagedInstanceArgs", "Client", "chat_model"):
        assert f'id="{documented}"' in package
    assert "A cortecs.ai dedicated instance serving a Hugging Face model" in package
