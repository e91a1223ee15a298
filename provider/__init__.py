"""Dedicated LLM instances on cortecs.ai: a typed API client and a Pulumi resource.

``Client`` talks to the API; ``ManagedInstance`` declares an instance in a Pulumi program;
``provider.fake`` is a local stand-in for the API, for tests and demos.

The names below are imported on first use (PEP 562), so ``import provider`` costs next to
nothing and a program pays only for what it touches; LangChain is imported only when
:func:`chat_model` is called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Client
    from .dynamic_provider import ManagedInstanceProvider
    from .errors import (
        ApiConnectionError,
        ApiError,
        AuthenticationError,
        InstanceStoppedError,
        InvalidRequestError,
        MalformedResponseError,
        MissingCredentialsError,
        NotFoundError,
        ProvisioningError,
        RateLimitError,
        ServerError,
        WaitTimeoutError,
    )
    from .langchain import chat_model
    from .models import (
        HardwareType,
        InitProgress,
        Instance,
        InstanceArgs,
        InstanceStatus,
        ModelPreview,
        PriceInfo,
    )
    from .readiness import ReadinessProbeError
    from .resource import ManagedInstance, ManagedInstanceArgs

# Which submodule defines each public name.
_SUBMODULES: dict[str, str] = {
    "Client": "client",
    "ManagedInstanceProvider": "dynamic_provider",
    **dict.fromkeys(
        (
            "ApiConnectionError",
            "ApiError",
            "AuthenticationError",
            "InstanceStoppedError",
            "InvalidRequestError",
            "MalformedResponseError",
            "MissingCredentialsError",
            "NotFoundError",
            "ProvisioningError",
            "RateLimitError",
            "ServerError",
            "WaitTimeoutError",
        ),
        "errors",
    ),
    "chat_model": "langchain",
    **dict.fromkeys(
        (
            "HardwareType",
            "InitProgress",
            "Instance",
            "InstanceArgs",
            "InstanceStatus",
            "ModelPreview",
            "PriceInfo",
        ),
        "models",
    ),
    "ReadinessProbeError": "readiness",
    "ManagedInstance": "resource",
    "ManagedInstanceArgs": "resource",
}

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AuthenticationError",
    "Client",
    "HardwareType",
    "InitProgress",
    "Instance",
    "InstanceArgs",
    "InstanceStatus",
    "InstanceStoppedError",
    "InvalidRequestError",
    "MalformedResponseError",
    "ManagedInstance",
    "ManagedInstanceArgs",
    "ManagedInstanceProvider",
    "MissingCredentialsError",
    "ModelPreview",
    "NotFoundError",
    "PriceInfo",
    "ProvisioningError",
    "RateLimitError",
    "ReadinessProbeError",
    "ServerError",
    "WaitTimeoutError",
    "chat_model",
]


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULES.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{submodule}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
