#!/usr/bin/env python3
"""Check that this environment holds every direct dependency at its floor in pyproject.toml.

scripts/test-lowest.sh runs it after installing with uv's ``--resolution lowest-direct``: a
package installed above its floor means another requirement forced it up, so the test run
would not prove the floor. Prints one line per dependency; exits 1 on any mismatch.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def direct_requirements() -> list[Requirement]:
    """The runtime dependencies and those of every extra (what users install)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        listed += extra
    return [Requirement(text) for text in listed]


def floor(requirement: Requirement) -> Version | None:
    for spec in requirement.specifier:
        if spec.operator == ">=":
            return Version(spec.version)
    return None


def main() -> int:
    failed = False
    for requirement in direct_requirements():
        lowest = floor(requirement)
        try:
            installed = Version(version(requirement.name))
        except PackageNotFoundError:
            print(f"{requirement.name}: not installed (floor {lowest})")
            failed = True
            continue
        ok = lowest is not None and installed == lowest
        note = "" if ok else "  <- not the floor" if lowest else "  <- no >= floor declared"
        print(f"{requirement.name:<18} floor {lowest!s:<10} installed {installed}{note}")
        failed |= not ok
    if failed:
        print(
            "Some direct dependency is not at its floor: raise the floor in pyproject.toml to "
            "what could be installed, or find what forces it up (uv pip tree).",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
