"""The example programs under ``pulumi.runtime.set_mocks``: what they declare and export."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tests import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples"


class ProviderLikeMocks(pulumi.runtime.Mocks):
    """Answers each ManagedInstance with the outputs the provider would give a running one."""

    def __init__(self) -> None:
        self.declared: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.declared[args.name] = dict(args.inputs)
        instance_id = f"instance-{len(self.declared)}"
        base_url = f"http://127.0.0.1:8711/serve/{instance_id}/v1"
        model_name = args.inputs["model_id"].replace("--", "/")
        kwargs = args.inputs.get("chat_openai_kwargs") or {}
        return instance_id, {
            **args.inputs,
            "instance_id": instance_id,
            "base_url": base_url,
            "status": "running",
            "estimated_cost_per_hour": 1.2,
            "chat_openai_args": {"model_name": model_name, "base_url": base_url, **kwargs},
        }

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        return {}, []


def run_program(
    program: Path, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[ProviderLikeMocks, dict[str, Any]]:
    mocks = ProviderLikeMocks()
    pulumi.runtime.set_mocks(mocks, project="cortecs-instances", stack="dev", preview=False)
    pulumi.runtime.set_all_config(
        {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()
        }
    )
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any]:
        runpy.run_path(str(program / "__main__.py"), run_name="__main__")
        return pulumi.Output.from_input(exports).apply(exports.update)

    run()
    return mocks, exports


def test_gitops_program_declares_the_stack_config_instances(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dev = pulumi_yaml_config(PROJECT_ROOT / "stacks" / "Pulumi.dev.yaml")
    mocks, exports = run_program(EXAMPLES / "gitops", dev, monkeypatch)
    assert set(mocks.declared) == {"chat", "small"}
    assert mocks.declared["chat"]["model_id"] == "meta-llama/Meta-Llama-3.1-8B-Instruct"
    assert mocks.declared["chat"]["context_length"] == 8000
    chat_args = exports["chat_chat_openai_args"]
    assert chat_args["model_name"] == "meta-llama/Meta-Llama-3.1-8B-Instruct"
    assert chat_args["temperature"] == 0.2
    assert exports["chat_base_url"] == chat_args["base_url"]
    assert exports["instances"]["small"]["chat_openai_args"]["model_name"] == (
        "microsoft/Phi-3.5-mini-instruct"
    )


def test_minimal_program_exports_base_url_and_chat_args(monkeypatch: pytest.MonkeyPatch) -> None:
    mocks, exports = run_program(EXAMPLES / "minimal", {}, monkeypatch)
    assert list(mocks.declared) == ["llm"]
    assert mocks.declared["llm"]["hardware_type_id"] == "NVIDIA_L40S_1"
    assert mocks.declared["llm"]["max_price_per_hour"] == 5
    assert mocks.declared["llm"]["auto_stop_after"] == "8h"
    assert exports["chat_openai_args"] == {
        "model_name": "meta-llama/Meta-Llama-3.1-8B-Instruct",
        "base_url": exports["base_url"],
        "temperature": 0.2,
    }


def pulumi_yaml_config(path: Path) -> dict[str, Any]:
    import yaml

    config: dict[str, Any] = yaml.safe_load(path.read_text())["config"]
    return config
