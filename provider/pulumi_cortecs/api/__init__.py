"""The cortecs.ai dedicated-instance API: a typed client and the objects it sends and reads.

No Pulumi in here: the client is for any Python program (and the provider builds on it).
"""

from pulumi_cortecs._urls import DEFAULT_API_BASE_URL
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import (
    HardwareType,
    InitProgress,
    Instance,
    InstanceArgs,
    InstanceStatus,
    ModelPreview,
    PriceInfo,
)
from pulumi_cortecs.api._polling import Observation, PollPolicy, ProportionalPollPolicy
from pulumi_cortecs.api._retry import RetryEvent

__all__ = [
    "DEFAULT_API_BASE_URL",
    "Client",
    "HardwareType",
    "InitProgress",
    "Instance",
    "InstanceArgs",
    "InstanceStatus",
    "ModelPreview",
    "Observation",
    "PollPolicy",
    "PriceInfo",
    "ProportionalPollPolicy",
    "RetryEvent",
]
