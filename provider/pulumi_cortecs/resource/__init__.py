"""ManagedInstance, the Pulumi resource, and the provider behind it.

A Pulumi program imports only what is here, which loads no HTTP client: the lifecycle logic
loads in the provider process, when the engine configures the provider.
"""

from pulumi_cortecs.resource._managed_instance import ManagedInstance, ManagedInstanceArgs
from pulumi_cortecs.resource.dynamic_provider import ManagedInstanceProvider

__all__ = ["ManagedInstance", "ManagedInstanceArgs", "ManagedInstanceProvider"]
