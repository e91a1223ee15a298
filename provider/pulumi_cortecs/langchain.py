"""LangChain's ``ChatOpenAI`` for a dedicated instance, from the instance or a stack's outputs.

``langchain-openai`` is an optional dependency (the ``langchain`` extra, or
``pip install 'langchain-openai>=1.0'`` next to this package): it is imported only when
:func:`chat_model` is called, so importing :mod:`pulumi_cortecs` never needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pulumi_cortecs._exceptions import InstanceNotServingError, MissingApiKeyError
from pulumi_cortecs._schema import API_KEY
from pulumi_cortecs.api._models import Instance

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

# CORTECS_API_KEY, as for the provider; never OPENAI_API_KEY (see chat_model).
API_KEY_VARIABLE = API_KEY.environment
# The `langchain` extra's requirement, installable as it is: this distribution is not on PyPI,
# so an install line naming it would fetch whatever package may one day take its name.
INSTALL_HINT = "pip install 'langchain-openai>=1.0'"
# How `pulumi stack output --json` shows a secret unless asked for --show-secrets.
_SECRET_PLACEHOLDER = "[secret]"


def chat_openai_args(source: Instance | Mapping[str, Any]) -> dict[str, Any]:
    """The ``ChatOpenAI`` keyword arguments of an instance, without the API key.

    ``source`` is an :class:`~pulumi_cortecs.api.Instance`, a ``chat_openai_args`` mapping (with
    ``model_name`` and ``base_url``, as a ManagedInstance exports it), or a mapping of a
    resource's outputs that holds ``chat_openai_args``. Raises :class:`InstanceNotServingError`
    when there is no ``base_url`` yet, and ``ValueError`` for a mapping of another shape.
    """
    if isinstance(source, Instance):
        if source.base_url is None:
            raise InstanceNotServingError(_not_serving(source.instance_id, _describe(source)))
        return source.chat_openai_config()
    if not isinstance(source, Mapping):
        raise TypeError(
            "chat_model() takes an Instance or a mapping (chat_openai_args, or a resource's "
            f"outputs holding chat_openai_args), not {type(source).__name__}"
        )
    outputs: Mapping[str, Any] = source
    args: Any = source
    if "chat_openai_args" in source:
        args = source["chat_openai_args"]
        if args == _SECRET_PLACEHOLDER:
            raise ValueError(_secret_hint("chat_openai_args"))
        if not isinstance(args, Mapping):
            raise ValueError(
                f"chat_openai_args must be a mapping, not {type(args).__name__}; is the "
                "instance declared yet?"
            )
    model_name = args.get("model_name", args.get("model"))
    if model_name is None or "base_url" not in args:
        raise ValueError(
            "Expected chat_openai_args (with model_name and base_url) or a resource's outputs "
            f"holding chat_openai_args; got a mapping with keys {sorted(map(str, source))}"
        )
    for key in ("model_name", "model", "base_url"):
        if args.get(key) == _SECRET_PLACEHOLDER:
            raise ValueError(_secret_hint(key))
    if args["base_url"] is None:
        instance_id = outputs.get("instance_id") or "the instance"
        status = outputs.get("status")
        raise InstanceNotServingError(
            _not_serving(str(instance_id), f"status {status}" if status else None)
        )
    resolved = dict(args)
    resolved.pop("model", None)
    resolved["model_name"] = model_name
    return resolved


def chat_model(source: Instance | Mapping[str, Any], **kwargs: Any) -> ChatOpenAI:
    """A LangChain ``ChatOpenAI`` that talks to a dedicated instance.

    ``source`` is what :func:`chat_openai_args` accepts. ``kwargs`` go to ``ChatOpenAI`` and
    override the instance's arguments (``temperature=0``, ``streaming=True``...). The API key
    is ``kwargs["api_key"]``, else the ``CORTECS_API_KEY`` environment variable (the account's
    cortecs.ai API key); :class:`MissingApiKeyError` when there is neither. ``OPENAI_API_KEY``
    is never read: it usually holds an OpenAI key, which must not go to a cortecs.ai endpoint.
    The key resolved here is passed to ``ChatOpenAI`` explicitly, so it never falls back to
    ``OPENAI_API_KEY`` either.
    """
    args = chat_openai_args(source)
    given = [kwargs.pop("api_key", None), kwargs.pop("openai_api_key", None)]
    api_key = given[0] or given[1] or args.pop("api_key", None) or os.environ.get(API_KEY_VARIABLE)
    if not api_key:
        raise MissingApiKeyError(
            "No API key for the instance: pass api_key=... or set the "
            f"{API_KEY_VARIABLE} environment variable to your cortecs.ai API key"
        )
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise ImportError(
            f"chat_model() needs langchain-openai (the package's `langchain` extra); install "
            f"it with: {INSTALL_HINT}"
        ) from exc
    return ChatOpenAI(**{**args, **kwargs, "api_key": api_key})


def _describe(instance: Instance) -> str:
    progress = instance.instance_status.init_progress
    if progress is None:
        return f"status {instance.status}"
    step = f"step {progress.current_step}/{progress.num_steps} {progress.description}".rstrip()
    return f"status {instance.status}, {step}"


def _not_serving(instance_id: str, state: str | None) -> str:
    detail = f" ({state})" if state else ""
    return (
        f"Instance {instance_id} is not serving yet{detail}: it has no base_url. Wait until it "
        "runs (Client.wait_until_running, or `pulumi up` returning) and read it again"
    )


def _secret_hint(key: str) -> str:
    return (
        f"{key} is shown as {_SECRET_PLACEHOLDER!r}: read the stack outputs with "
        "`pulumi stack output --json --show-secrets`"
    )
