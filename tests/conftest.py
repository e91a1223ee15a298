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
