"""``pulumi_cortecs.langchain.chat_model`` and ``examples/chat_from_stack.py`` against the fake.

The example is run on an outputs file shaped like the GitOps program's exports, so neither
needs the Pulumi CLI.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from pulumi_cortecs import Client
from pulumi_cortecs.api._models import Instance, InstanceArgs
from pulumi_cortecs.langchain import (
    INSTALL_HINT,
    InstanceNotServingError,
    MissingApiKeyError,
    chat_model,
    chat_openai_args,
)
from pulumi_cortecs.testing import DEMO_API_KEY, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from pulumi_cortecs.testing.fake import FakeBackend, FakeServer, ManualClock
from pulumi_cortecs.testing.processes import (
    CREDENTIAL_VARIABLES,
    FakeApiProcess,
    without_credentials,
)
from pydantic import SecretStr

from tests import LLAMA, PROJECT_ROOT
from tests._client_helpers import instance_json

CANARY_KEY = "sk-canary-4c2e9a"
EXAMPLE = PROJECT_ROOT / "examples" / "chat_from_stack.py"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (*CREDENTIAL_VARIABLES, "CORTECS_API_KEY"):
        monkeypatch.delenv(variable, raising=False)


def instance(status: str = "running", base_url: str | None = "http://h/v1") -> Instance:
    body = instance_json("instance-7", status=status, step=5 if status == "running" else 2)
    return Instance.model_validate(
        {**body, "base_url": base_url, "instance_args": {"model_id": LLAMA}}
    )


# chat_openai_args: every accepted source


def test_args_from_an_instance() -> None:
    assert chat_openai_args(instance()) == {"model_name": LLAMA, "base_url": "http://h/v1"}


def test_args_from_chat_openai_args_and_from_outputs() -> None:
    args = {"model_name": LLAMA, "base_url": "http://h/v1", "temperature": 0.2}
    assert chat_openai_args(args) == args
    outputs = {"instance_id": "instance-7", "base_url": "http://h/v1", "chat_openai_args": args}
    assert chat_openai_args(outputs) == args
    # ``model`` (ChatOpenAI's alias) is accepted too.
    assert chat_openai_args({"model": LLAMA, "base_url": "http://h/v1"}) == {
        "model_name": LLAMA,
        "base_url": "http://h/v1",
    }


def test_not_serving_yet_is_a_clear_error() -> None:
    with pytest.raises(InstanceNotServingError, match=r"instance-7 is not serving yet.*2/5"):
        chat_openai_args(instance(status="pending", base_url=None))
    outputs = {
        "instance_id": "instance-9",
        "status": "pending",
        "chat_openai_args": {"model_name": LLAMA, "base_url": None},
    }
    with pytest.raises(ValueError, match=r"instance-9 is not serving yet \(status pending\)"):
        chat_openai_args(outputs)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"base_url": "http://h/v1"}, "model_name and base_url"),
        ({"model_name": LLAMA}, "model_name and base_url"),
        ({"chat_openai_args": None}, "must be a mapping"),
        ({"chat_openai_args": "[secret]"}, "--show-secrets"),
        ({"model_name": LLAMA, "base_url": "[secret]"}, "--show-secrets"),
    ],
)
def test_other_shapes_are_refused(source: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chat_openai_args(source)


def test_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="Instance or a mapping"):
        chat_openai_args(["model_name"])  # type: ignore[arg-type]


# chat_model


def test_chat_model_from_args_with_key_and_overrides() -> None:
    model = chat_model(
        {"model_name": LLAMA, "base_url": "http://h/v1", "temperature": 0.2},
        api_key=CANARY_KEY,
        temperature=0.0,
        max_tokens=5,
    )
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == LLAMA
    assert model.openai_api_base == "http://h/v1"
    assert model.temperature == 0.0
    assert model.max_tokens == 5
    assert isinstance(model.openai_api_key, SecretStr)
    assert model.openai_api_key.get_secret_value() == CANARY_KEY
    assert CANARY_KEY not in repr(model)


def test_chat_model_reads_cortecs_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTECS_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)  # an OpenAI key beside it is ignored
    model = chat_model(instance())
    assert isinstance(model.openai_api_key, SecretStr)
    assert model.openai_api_key.get_secret_value() == DEMO_API_KEY


def test_chat_model_never_takes_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OpenAI key in the environment is not a cortecs.ai key: it must not reach the instance."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    with pytest.raises(MissingApiKeyError, match="CORTECS_API_KEY") as raised:
        chat_model(instance())
    assert "api_key=" in str(raised.value)
    assert CANARY_KEY not in str(raised.value)


def test_chat_model_passes_an_explicit_openai_key_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORTECS_API_KEY", DEMO_API_KEY)
    model = chat_model(instance(), openai_api_key=CANARY_KEY)
    assert isinstance(model.openai_api_key, SecretStr)
    assert model.openai_api_key.get_secret_value() == CANARY_KEY


def test_chat_model_without_a_key() -> None:
    with pytest.raises(MissingApiKeyError, match="CORTECS_API_KEY") as raised:
        chat_model(instance())
    assert "api_key=" in str(raised.value)


def test_chat_model_not_serving_never_builds_a_model() -> None:
    with pytest.raises(InstanceNotServingError):
        chat_model(instance(status="pending", base_url=None), api_key=CANARY_KEY)


def test_missing_langchain_names_the_extra_and_a_line_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    with pytest.raises(ImportError, match="the package's `langchain` extra") as raised:
        chat_model(instance(), api_key=CANARY_KEY)
    assert INSTALL_HINT in str(raised.value)
    assert CANARY_KEY not in str(raised.value)


def test_importing_provider_does_not_import_langchain() -> None:
    code = (
        "import sys, pulumi_cortecs, pulumi_cortecs.langchain, pulumi_cortecs.cli\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('langchain', 'openai')))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_chat_model_talks_to_an_instance() -> None:
    cortecs_clock = ManualClock(start=time.time())
    with FakeServer(FakeBackend(clock=cortecs_clock)) as server:
        with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, server.api_base_url) as client:
            started = client.start(InstanceArgs(model_id=LLAMA))
            cortecs_clock.advance(60)
            instance = client.get_instance(started.instance_id)
        model = chat_model(instance, api_key=DEMO_API_KEY, max_retries=0)
        assert model.invoke("ping").text == f"{LLAMA} echoes: ping"
        chunks = [chunk.text for chunk in model.stream("a b")]
        assert len(chunks) > 1
        assert "".join(chunks) == f"{LLAMA} echoes: a b"


# the example, against the fake over HTTP


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_from_stack", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


@pytest.fixture
def running(cortecs_api: FakeApiProcess) -> Iterator[Instance]:
    with Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, cortecs_api.api_base_url) as client:
        started = client.start(InstanceArgs(model_id=LLAMA))
        yield client.wait_until_running(started.instance_id, timeout=30)


def stack_outputs(*instances: tuple[str, Instance]) -> dict[str, Any]:
    """What examples/gitops exports, as `pulumi stack output --json` prints it."""
    outputs: dict[str, Any] = {"instances": {}}
    for name, instance in instances:
        args = instance.chat_openai_config(temperature=0.2)
        outputs[f"{name}_base_url"] = instance.base_url
        outputs[f"{name}_chat_openai_args"] = args
        outputs["instances"][name] = {
            "instance_id": instance.instance_id,
            "base_url": instance.base_url,
            "status": instance.status,
            "estimated_cost_per_hour": 0.89,
            "chat_openai_args": args,
        }
    return outputs


@pytest.fixture
def outputs_file(tmp_path: Path, running: Instance) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_outputs(("chat", running))))
    return path


def run_example(example: ModuleType, *argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = example.main(list(argv), stdout=out, stdin=io.StringIO(stdin))
    return code, out.getvalue()


def test_example_invoke(
    example: ModuleType, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTECS_API_KEY", DEMO_API_KEY)
    code, out = run_example(
        example, "--outputs-file", str(outputs_file), "--instance", "chat", "--prompt", "hello"
    )
    assert (code, out) == (0, f"{LLAMA} echoes: hello\n")


def test_example_stream(
    example: ModuleType, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTECS_API_KEY", DEMO_API_KEY)
    code, out = run_example(
        example, "--outputs-file", str(outputs_file), "--prompt", "a b c", "--stream"
    )
    assert (code, out) == (0, f"{LLAMA} echoes: a b c\n")


def test_example_batch(
    example: ModuleType, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORTECS_API_KEY", DEMO_API_KEY)
    code, out = run_example(
        example, "--outputs-file", str(outputs_file), "--prompt", "one", "--prompt", "two"
    )
    assert code == 0
    assert out == f"> one\n{LLAMA} echoes: one\n> two\n{LLAMA} echoes: two\n"


def test_example_batch_through_chat_model(running: Instance, example: ModuleType) -> None:
    source = example.select_instance(stack_outputs(("chat", running)), "chat")
    model = chat_model(source, api_key=DEMO_API_KEY)
    answers = model.batch(["x", "y", "z"])
    assert [a.text for a in answers] == [f"{LLAMA} echoes: {p}" for p in "xyz"]


def test_example_as_a_script_reading_stdin(cortecs_api: FakeApiProcess, running: Instance) -> None:
    env = without_credentials(CORTECS_API_KEY=DEMO_API_KEY)
    outputs = {"chat_openai_args": running.chat_openai_config()}  # a one-instance program
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--outputs-file", "-", "--prompt", "hi", "--stream"],
        input=json.dumps(outputs),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{LLAMA} echoes: hi\n"
    assert DEMO_API_KEY not in result.stderr


def test_example_wrong_key_fails_cleanly(
    example: ModuleType,
    outputs_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CORTECS_API_KEY", CANARY_KEY)
    code, _ = run_example(example, "--outputs-file", str(outputs_file), "--prompt", "x")
    assert code == 1
    err = capsys.readouterr().err
    assert "did not answer" in err
    assert CANARY_KEY not in err


def test_example_without_a_key(
    example: ModuleType,
    outputs_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)  # not a cortecs.ai key: never used
    code, out = run_example(example, "--outputs-file", str(outputs_file))
    assert (code, out) == (1, "")
    err = capsys.readouterr().err
    assert "CORTECS_API_KEY" in err
    assert CANARY_KEY not in err


# the example's choice of instance


def test_select_instance(example: ModuleType) -> None:
    args_a = {"model_name": "a", "base_url": "http://a/v1"}
    args_b = {"model_name": "b", "base_url": "http://b/v1"}
    nested = {"instances": {"a": {"chat_openai_args": args_a}, "b": {"chat_openai_args": args_b}}}
    flat = {"a_chat_openai_args": args_a, "b_chat_openai_args": args_b}

    assert example.select_instance(nested, "b")["chat_openai_args"] == args_b
    assert example.select_instance(flat, "b") == {"chat_openai_args": args_b}
    assert example.select_instance({"chat_openai_args": args_a}) == {"chat_openai_args": args_a}
    assert example.select_instance({"instances": {"a": {"chat_openai_args": args_a}}}) == {
        "chat_openai_args": args_a
    }
    assert example.instance_names({**nested, **flat}) == ["a", "b"]
    with pytest.raises(example.OutputsError, match=r"--instance NAME.*a, b"):
        example.select_instance(nested)
    with pytest.raises(example.OutputsError, match=r"no instance 'c'.*a, b"):
        example.select_instance(flat, "c")
    with pytest.raises(example.OutputsError, match="none"):
        example.select_instance({})


def test_read_outputs_runs_pulumi(
    example: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pulumi = tmp_path / "pulumi"
    fake_pulumi.write_text(
        '#!/bin/sh\nprintf \'{"args": "%s", "chat_openai_args": {"model_name": "m", '
        '"base_url": "http://m/v1"}}\' "$*"\n'
    )
    fake_pulumi.chmod(fake_pulumi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    outputs = example.read_outputs(stack="prod", show_secrets=True)
    assert outputs["args"] == "stack output --json --stack prod --show-secrets"

    fake_pulumi.write_text("#!/bin/sh\necho 'error: no stack named prod' >&2\nexit 255\n")
    with pytest.raises(example.OutputsError, match="no stack named prod"):
        example.read_outputs(stack="prod")


def test_read_outputs_errors(
    example: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(example.OutputsError, match=r"not on PATH.*--outputs-file"):
        example.read_outputs(stack="dev")
    with pytest.raises(example.OutputsError, match="cannot read"):
        example.read_outputs(outputs_file=str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(example.OutputsError, match="not a JSON object"):
        example.read_outputs(outputs_file=str(bad))
    with pytest.raises(example.OutputsError, match="not JSON"):
        example.read_outputs(outputs_file="-", stdin=io.StringIO("nope"))
