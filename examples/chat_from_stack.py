"""Chat with an instance a Pulumi stack deployed, using the stack's outputs.

The GitOps program (examples/gitops) exports, per instance NAME, ``NAME_chat_openai_args`` and
``instances.NAME.chat_openai_args``: the keyword arguments of LangChain's ``ChatOpenAI``. This
script reads them and asks the instance something:

    python examples/chat_from_stack.py --stack dev --instance chat --prompt "Hello!"
    python examples/chat_from_stack.py --stack dev --instance chat --prompt "A haiku" --stream
    pulumi stack output --json --stack dev | python examples/chat_from_stack.py --outputs-file -

Several ``--prompt`` run as one batch. The API key is read from CORTECS_API_KEY (never from
OPENAI_API_KEY, which holds an OpenAI key); it is never printed. Needs the package's
``langchain`` extra (README, Installation), or ``pip install 'langchain-openai>=1.0'`` next to
the package.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from pulumi_cortecs.langchain import chat_model

ARGS_SUFFIX = "_chat_openai_args"
DEFAULT_PROMPT = "In one sentence: what is a dedicated LLM instance?"


class OutputsError(Exception):
    """The stack outputs could not be read, or hold no usable instance."""


def read_outputs(
    *,
    stack: str | None = None,
    outputs_file: str | None = None,
    show_secrets: bool = False,
    cwd: str | Path | None = None,
    stdin: TextIO | None = None,
) -> dict[str, Any]:
    """The stack outputs: from a JSON file (``-`` is stdin), else ``pulumi stack output --json``."""
    if outputs_file is not None:
        if outputs_file == "-":
            text = (stdin or sys.stdin).read()
            where = "stdin"
        else:
            try:
                text = Path(outputs_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise OutputsError(f"cannot read {outputs_file}: {exc.strerror}") from None
            where = outputs_file
    else:
        text = _pulumi_stack_output(stack, show_secrets, cwd)
        where = "pulumi stack output"
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputsError(f"the outputs from {where} are not JSON ({exc})") from None
    if not isinstance(outputs, dict):
        raise OutputsError(f"the outputs from {where} are not a JSON object")
    return outputs


def _pulumi_stack_output(stack: str | None, show_secrets: bool, cwd: str | Path | None) -> str:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise OutputsError(
            "the Pulumi CLI is not on PATH; install it, or pass the outputs as a file with "
            "--outputs-file (use - for stdin)"
        )
    command = [pulumi, "stack", "output", "--json"]
    if stack:
        command += ["--stack", stack]
    if show_secrets:
        command.append("--show-secrets")
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = result.stderr.strip() or f"exit code {result.returncode}"
        raise OutputsError(f"`pulumi stack output --json` failed: {detail}")
    return result.stdout


def instance_names(outputs: Mapping[str, Any]) -> list[str]:
    """The instances the outputs describe (``instances`` keys and ``NAME_chat_openai_args``)."""
    names: set[str] = set()
    instances = outputs.get("instances")
    if isinstance(instances, Mapping):
        names.update(str(name) for name in instances)
    names.update(k.removesuffix(ARGS_SUFFIX) for k in outputs if k.endswith(ARGS_SUFFIX))
    return sorted(names)


def select_instance(outputs: Mapping[str, Any], instance: str | None = None) -> Mapping[str, Any]:
    """What :func:`pulumi_cortecs.langchain.chat_model` takes for the chosen instance.

    With ``instance``: ``instances.NAME`` (its outputs, with ``chat_openai_args``), else
    ``NAME_chat_openai_args``. Without: a top-level ``chat_openai_args``, else the only instance.
    """
    if instance is None:
        if "chat_openai_args" in outputs:
            return outputs
        names = instance_names(outputs)
        if len(names) != 1:
            found = ", ".join(names) if names else "none"
            raise OutputsError(
                f"pick an instance with --instance NAME; the outputs have these: {found}"
            )
        instance = names[0]
    instances = outputs.get("instances")
    if isinstance(instances, Mapping) and isinstance(instances.get(instance), Mapping):
        entry: Mapping[str, Any] = instances[instance]
        if "chat_openai_args" in entry:
            return entry
    flat = outputs.get(f"{instance}{ARGS_SUFFIX}")
    if flat is not None:
        return {"chat_openai_args": flat}
    found = ", ".join(instance_names(outputs)) or "none"
    raise OutputsError(f"no instance {instance!r} in the stack outputs; they have: {found}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", help="the stack to read (default: the selected stack)")
    source.add_argument(
        "--outputs-file",
        metavar="PATH",
        help="read `pulumi stack output --json` saved to a file (- for stdin) instead",
    )
    parser.add_argument("--cwd", help="the Pulumi project directory (default: here)")
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="pass --show-secrets to pulumi (needed when the outputs are secret)",
    )
    parser.add_argument("--instance", metavar="NAME", help="which instance (the config key)")
    parser.add_argument(
        "--prompt",
        action="append",
        help=f"what to ask; repeat to send a batch (default: {DEFAULT_PROMPT!r})",
    )
    parser.add_argument("--stream", action="store_true", help="print the answer as it streams")
    parser.add_argument("--temperature", type=float, help="override the stack's temperature")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stdin: TextIO | None = None
) -> int:
    args = parse_args(argv)
    out = stdout or sys.stdout
    try:
        outputs = read_outputs(
            stack=args.stack,
            outputs_file=args.outputs_file,
            show_secrets=args.show_secrets,
            cwd=args.cwd,
            stdin=stdin,
        )
        source = select_instance(outputs, args.instance)
        overrides: dict[str, Any] = {}
        if args.temperature is not None:
            overrides["temperature"] = args.temperature
        model = chat_model(source, **overrides)
    except (OutputsError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    prompts = args.prompt or [DEFAULT_PROMPT]
    try:
        _ask(model, prompts, stream=args.stream, out=out)
    except Exception as exc:  # the OpenAI client's errors name no key
        print(f"\nerror: the instance did not answer: {exc}", file=sys.stderr)
        return 1
    return 0


def _ask(model: Any, prompts: Sequence[str], *, stream: bool, out: TextIO) -> None:
    if stream:
        for number, prompt in enumerate(prompts):
            if number:
                out.write("\n")
            for chunk in model.stream(prompt):
                out.write(chunk.text)
                out.flush()
            out.write("\n")
    elif len(prompts) == 1:
        out.write(model.invoke(prompts[0]).text + "\n")
    else:
        for prompt, answer in zip(prompts, model.batch(list(prompts)), strict=True):
            out.write(f"> {prompt}\n{answer.text}\n")


if __name__ == "__main__":
    raise SystemExit(main())
