"""The instances' API key is ``cortecs:apiKey`` or ``CORTECS_API_KEY``, never ``OPENAI_API_KEY``.

A LangChain user usually has an OpenAI key in ``OPENAI_API_KEY``: reading it as a fallback would
send it to a cortecs.ai endpoint (and the probe would be refused). These tests put a canary
there and check the provider neither uses it nor mistakes it for a missing key's substitute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi_cortecs._schema import API_KEY
from pulumi_cortecs.resource._settings import ProviderSettings
from pulumi_cortecs.testing import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.engine import Deployment, ProviderProcess, declare
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env

from tests import LLAMA

OPENAI_KEY = "sk-openai-canary-19ad7c"


def test_the_environment_fallback_is_cortecs_api_key() -> None:
    assert API_KEY.environment == "CORTECS_API_KEY"
    only_openai = ProviderSettings.from_config({}, environ={"OPENAI_API_KEY": OPENAI_KEY})
    assert only_openai.api_key is None
    both = {"OPENAI_API_KEY": OPENAI_KEY, "CORTECS_API_KEY": DEMO_API_KEY}
    assert ProviderSettings.from_config({}, environ=both).api_key == DEMO_API_KEY
    configured = ProviderSettings.from_config({"cortecs:apiKey": "from-config"}, environ=both)
    assert configured.api_key == "from-config"


def provider(cortecs_api: FakeApiProcess, home: Path, **env: str) -> ProviderProcess:
    process = ProviderProcess(env=provider_env(home, **env))
    process.configure(
        {
            "cortecs:clientId": DEMO_CLIENT_ID,
            "cortecs:clientSecret": DEMO_CLIENT_SECRET,
            "cortecs:apiBaseUrl": cortecs_api.api_base_url,
        }
    )
    return process


@pytest.fixture
def only_an_openai_key(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> Iterator[ProviderProcess]:
    process = provider(cortecs_api, cortecs_home, OPENAI_API_KEY=OPENAI_KEY)
    yield process
    process.close()


@pytest.mark.engine
def test_an_openai_key_alone_is_no_key_for_the_probe(only_an_openai_key: ProviderProcess) -> None:
    _, failures = only_an_openai_key.check(declare(model_id=LLAMA))
    assert len(failures) == 1
    field, reason = failures[0]
    assert field == "readiness_probe"
    assert "CORTECS_API_KEY" in reason
    assert "OPENAI_API_KEY" not in reason
    only_an_openai_key.close()  # all it wrote
    assert OPENAI_KEY not in only_an_openai_key.shown


@pytest.mark.engine
def test_the_probe_sends_cortecs_api_key_beside_an_openai_key(
    cortecs_api: FakeApiProcess, cortecs_home: Path
) -> None:
    # The fake refuses any key but the demo one: had the probe sent the OpenAI key, create
    # would fail with HTTP 401.
    process = provider(
        cortecs_api, cortecs_home, OPENAI_API_KEY=OPENAI_KEY, CORTECS_API_KEY=DEMO_API_KEY
    )
    try:
        stack = Deployment(process)
        assert stack.up({"chat": declare(model_id=LLAMA)}) == {"chat": "create"}
        assert stack.state["chat"].outputs["status"] == "running"
        stack.destroy()
    finally:
        process.close()
