"""Dedicated LLM instances on cortecs.ai: a typed API client and a Pulumi resource.

``Client`` talks to the API; ``ManagedInstance`` declares an instance in a Pulumi program;
``provider.fake`` is a local stand-in for the API, for tests and demos.
"""

from .client import Client
from .dynamic_provider import ManagedInstanceProvider, ProvisioningError
from .errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    InstanceStoppedError,
    InvalidRequestError,
    MissingCredentialsError,
    NotFoundError,
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
