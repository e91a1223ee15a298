"""The fixtures come from the package's own pytest plugin (pulumi_cortecs.testing.pytest_plugin),
loaded through its entry point like any user's test suite would load it. Here only what keeps
this suite independent of the environment that runs it."""

import pytest
from pulumi_cortecs import Client


@pytest.fixture(autouse=True)
def no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI fits its tables to COLUMNS when it is set (pytest-xdist's workers set it): the
    tests that want a width set it themselves."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def client(cortecs_client: Client) -> Client:
    """The plugin's ``cortecs_client``, under the name the client tests use."""
    return cortecs_client


# The tests that run the package in new Python processes (a CLI command, a script, an install,
# a docs or package build): seconds each, so the fast loop (scripts/test-fast.sh) leaves them
# to scripts/test.sh. Named here, in one place, rather than marked in each module.
_SLOW_MODULES = (
    "test_docs",
    "test_packaging",
    "test_plain_install",
    "test_cli_run",  # `cortecs-instances run` and the commands it runs
    "test_job",  # job instances booted through a fake over HTTP, a pytest run of its fixture
)
_SLOW_TESTS = (
    "test_module_",  # python -m pulumi_cortecs against the fake over HTTP
    "test_readme_cli_example_runs_as_written",
    "test_shell_snippets",
    "test_python_snippets",
    "test_pytest_snippets",
    "test_example_as_a_script_reading_stdin",
    "test_writers_in_several_processes",
    "test_concurrent_waits_over_http",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        if module in _SLOW_MODULES or item.name.startswith(_SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
