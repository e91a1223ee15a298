"""The distribution as users get it: metadata, what the sdist and the wheel hold, and the module
path that stack state pickles.

The sdist and the wheel are built once, offline, by the build backend itself (setuptools, from
the ``test`` dependency group) in a copy of the files a build reads, so nothing is written into
the checkout.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pulumi_cortecs import ManagedInstance, __version__
from pulumi_cortecs.testing.engine import program_inputs

from tests import LLAMA, PROJECT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in")
PACKAGE = PROJECT_ROOT / "provider" / "pulumi_cortecs"
PROVIDER_PATH = "pulumi_cortecs.resource.dynamic_provider.ManagedInstanceProvider"


def package_files() -> set[str]:
    """The package's files, relative to the repository (what both distributions must carry)."""
    return {
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        shutil.copy(PROJECT_ROOT / name, source / name)
    shutil.copytree(
        PACKAGE,
        source / "provider" / "pulumi_cortecs",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    out = tmp_path_factory.mktemp("dist")
    # One process per build, as build frontends do: setuptools keeps state between the two.
    for hook in ("build_sdist", "build_wheel"):
        code = f"import sys, setuptools.build_meta as backend; backend.{hook}(sys.argv[1])"
        subprocess.run(
            [sys.executable, "-c", code, str(out)],
            cwd=source,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return out


def sdist_members(dist: Path) -> set[str]:
    (sdist,) = dist.glob("*.tar.gz")
    assert sdist.name == f"pulumi_cortecs_instances-{__version__}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = {member.name for member in archive.getmembers() if member.isfile()}
    prefix = f"pulumi_cortecs_instances-{__version__}/"
    assert all(name.startswith(prefix) for name in names)
    return {name.removeprefix(prefix) for name in names}


def wheel_metadata(dist: Path) -> tuple[set[str], Message, str]:
    (wheel,) = dist.glob("*.whl")
    assert wheel.name == f"pulumi_cortecs_instances-{__version__}-py3-none-any.whl"
    info = f"pulumi_cortecs_instances-{__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    return names, metadata, entry_points


def test_the_sdist_is_the_package_and_its_documents_without_tests(dist: Path) -> None:
    members = sdist_members(dist)
    documents = {"PKG-INFO", "README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml"}
    assert documents <= members
    assert package_files() <= members
    # No tests without their helpers: the tests run from a checkout (see MANIFEST.in).
    assert not [name for name in members if name.startswith("tests/") or "/tests/" in name]
    extra = members - package_files() - documents
    assert extra <= {"MANIFEST.in", "setup.cfg"} | {
        name for name in members if ".egg-info/" in name
    }


def test_the_wheel_holds_the_typed_package_and_the_license(dist: Path) -> None:
    names, _, _ = wheel_metadata(dist)
    info = f"pulumi_cortecs_instances-{__version__}.dist-info"
    assert {path.removeprefix("provider/") for path in package_files()} <= names
    assert "pulumi_cortecs/py.typed" in names
    assert f"{info}/licenses/LICENSE" in names
    assert not [name for name in names if name.startswith("tests/")]


def test_the_metadata(dist: Path) -> None:
    _, metadata, entry_points = wheel_metadata(dist)
    assert metadata["Name"] == "pulumi-cortecs-instances"
    assert metadata["Version"] == __version__
    assert tuple(int(n) for n in metadata["Metadata-Version"].split(".")) >= (2, 4)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.10" in classifiers
    # PEP 639: the SPDX expression replaces license classifiers.
    assert not [c for c in classifiers if c.startswith("License ::")]
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Source", "Issues", "Changelog", "Documentation"} <= set(urls)
    # Only the langchain and s3 extras are published; the development tools are a dependency group.
    assert metadata.get_all("Provides-Extra") == ["langchain", "s3"]
    requires = metadata.get_all("Requires-Dist") or []
    assert not [r for r in requires if r.split()[0].split(">")[0] in {"ruff", "mypy", "pytest"}]
    assert "[pytest11]\ncortecs = pulumi_cortecs.testing.pytest_plugin" in entry_points
    assert "cortecs-instances = pulumi_cortecs.cli:main" in entry_points


def test_the_license_is_apache_2() -> None:
    text = (PROJECT_ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]


def test_the_development_tools_are_a_dependency_group() -> None:
    assert "test" not in PROJECT["optional-dependencies"]
    groups = PYPROJECT["dependency-groups"]
    tools = {requirement.split(">")[0] for requirement in groups["lint"]}
    assert {"ruff", "mypy"} <= tools
    assert {"include-group": "test"} in groups["dev"]
    assert "--group dev" in (PROJECT_ROOT / "scripts" / "_venv.sh").read_text()


def test_the_changelog_covers_this_version() -> None:
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text()
    assert f"## {__version__}" in changelog
    assert "pulumi_cortecs" in changelog and "`provider`" in changelog


def test_state_pickles_the_provider_by_its_public_module_path() -> None:
    """The Compatibility promise: this path is in every stack's state; renaming it is a major
    version (README, "Compatibility")."""
    inputs = program_inputs(lambda: [ManagedInstance("chat", model_id=LLAMA)])["chat"]
    pickled = base64.b64decode(inputs["__provider"])
    module, _, name = PROVIDER_PATH.rpartition(".")
    assert module.encode() in pickled
    assert name.encode() in pickled
    assert PROVIDER_PATH in (PROJECT_ROOT / "README.md").read_text()


# requirements.lock: what the deploy workflows install


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from requirements.lock (pip's hash-checking format)."""
    text = (PROJECT_ROOT / "requirements.lock").read_text()
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in text.replace("\\\n", " ").splitlines():
        if not block.strip() or block.lstrip().startswith("#"):
            continue
        requirement, *options = block.split()
        name, _, pinned = requirement.partition("==")
        assert pinned, f"{requirement} is not pinned to one version"
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")]
        entries[canonicalize_name(name)] = (pinned, hashes)
    return entries


def test_the_lock_pins_every_package_with_hashes() -> None:
    entries = locked()
    assert entries
    for name, (_, hashes) in entries.items():
        assert hashes, f"{name} has no hash: pip --require-hashes would refuse the lock"
    # Runtime only: a deploy needs neither the dev tools nor the langchain extra.
    assert not {"pytest", "ruff", "mypy", "langchain-openai"} & set(entries)


def test_the_lock_satisfies_pyproject() -> None:
    entries = locked()
    for text in PROJECT["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{name} is missing from requirements.lock: run scripts/lock.sh"
        assert requirement.specifier.contains(entries[name][0]), (
            f"requirements.lock has {name} {entries[name][0]}, outside {requirement.specifier}: "
            "run scripts/lock.sh"
        )


def test_the_cli_version_matches_the_locked_sdk() -> None:
    """deploy-local.sh and the workflows install the CLI of .pulumi.version; the programs run
    the SDK of the lock. One release of both, so what CI deploys is what was tested together."""
    cli = (PROJECT_ROOT / ".pulumi.version").read_text().strip()
    assert locked()["pulumi"][0] == cli, "set .pulumi.version to the locked pulumi version"


def test_the_readme_installs_from_the_repository_of_the_project_urls() -> None:
    """OWNER/REPO is a placeholder until the repository is published: replacing it in one place
    and not the other fails here."""
    source = PROJECT["urls"]["Source"]
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert f"pulumi-cortecs-instances[langchain] @ git+{source}'" in readme
    assert all(url.startswith(source) for url in PROJECT["urls"].values())
