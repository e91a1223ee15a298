"""Dedicated LLM instances on cortecs.ai: a typed API client and a Pulumi resource.

``Client`` talks to the API; ``ManagedInstance`` declares an instance in a Pulumi program;
``pulumi_cortecs.testing`` is a local stand-in for the API, for tests and demos.

The names below are imported on first use (PEP 562), so ``import pulumi_cortecs`` costs next to
nothing and a program pays only for what it touches; LangChain is imported only when
:func:`chat_model` is called.
"""

import typing

from pulumi_cortecs import _lazy
from pulumi_cortecs.__version__ import __title__, __version__

if typing.TYPE_CHECKING:
    from pulumi_cortecs._exceptions import (
        ApiConnectionError,
        ApiError,
        AuthenticationError,
        CortecsError,
        InitializationFailed,
        InstanceNotServingError,
        InstanceStoppedError,
        InvalidRequestError,
        JournalError,
        MalformedResponseError,
        MissingApiKeyError,
        MissingCredentialsError,
        NotFoundError,
        OperationCancelled,
        ProvisioningError,
        RateLimitError,
        ReadinessProbeError,
        ServerError,
        UncertainStartError,
        UnknownModelError,
        WaitTimeoutError,
    )
    from pulumi_cortecs._job import JobInstance, JobRefused, job_instance
    from pulumi_cortecs.api import (
        Client,
        HardwareType,
        InitProgress,
        Instance,
        InstanceArgs,
        InstanceStatus,
        ModelPreview,
        PriceInfo,
    )
    from pulumi_cortecs.langchain import chat_model
    from pulumi_cortecs.resource import (
        ManagedInstance,
        ManagedInstanceArgs,
        ManagedInstanceProvider,
    )

# Which module defines each public name.
_SUBMODULES: dict[str, str] = {
    "Client": "api",
    "ManagedInstanceProvider": "resource",
    **dict.fromkeys(
        (
            "ApiConnectionError",
            "InitializationFailed",
            "OperationCancelled",
            "ApiError",
            "AuthenticationError",
            "CortecsError",
            "InstanceNotServingError",
            "InstanceStoppedError",
            "InvalidRequestError",
            "JournalError",
            "MalformedResponseError",
            "MissingApiKeyError",
            "MissingCredentialsError",
            "NotFoundError",
            "ProvisioningError",
            "RateLimitError",
            "ReadinessProbeError",
            "ServerError",
            "UnknownModelError",
            "UncertainStartError",
            "WaitTimeoutError",
        ),
        "_exceptions",
    ),
    "chat_model": "langchain",
    **dict.fromkeys(("JobInstance", "JobRefused", "job_instance"), "_job"),
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
        "api",
    ),
    "ManagedInstance": "resource",
    "ManagedInstanceArgs": "resource",
}

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AuthenticationError",
    "Client",
    "CortecsError",
    "HardwareType",
    "InitProgress",
    "InitializationFailed",
    "Instance",
    "InstanceArgs",
    "InstanceNotServingError",
    "InstanceStatus",
    "InstanceStoppedError",
    "InvalidRequestError",
    "JobInstance",
    "JobRefused",
    "JournalError",
    "MalformedResponseError",
    "ManagedInstance",
    "ManagedInstanceArgs",
    "ManagedInstanceProvider",
    "MissingApiKeyError",
    "MissingCredentialsError",
    "ModelPreview",
    "NotFoundError",
    "OperationCancelled",
    "PriceInfo",
    "ProvisioningError",
    "RateLimitError",
    "ReadinessProbeError",
    "ServerError",
    "UncertainStartError",
    "UnknownModelError",
    "WaitTimeoutError",
    "__title__",
    "__version__",
    "chat_model",
    "job_instance",
]


__getattr__, __dir__ = _lazy.lazy_exports(__name__, _SUBMODULES)
