"""ManagedInstance: a dedicated LLM instance declared in a Pulumi program."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from pulumi_cortecs.resource.dynamic_provider import ManagedInstanceProvider

OUTPUT_PROPERTIES = (
    "instance_id",
    "base_url",
    "status",
    "model_name",
    "started_at",
    "price_per_hour",
    "currency",
    "estimated_cost_per_hour",
    "chat_openai_args",
)


@dataclass
class ManagedInstanceArgs:
    """The inputs of a ManagedInstance; see the README's table for defaults and effects."""

    model_id: pulumi.Input[str]
    hardware_type_id: pulumi.Input[str] | None = None
    context_length: pulumi.Input[int] | None = None
    billing_interval: pulumi.Input[str] | None = None
    num_workers: pulumi.Input[int] | None = None
    chat_openai_kwargs: pulumi.Input[dict[str, Any]] | None = None
    running: pulumi.Input[bool] | None = None
    readiness_probe: pulumi.Input[bool] | None = None
    adopt_existing: pulumi.Input[bool] | None = None
    wait_timeout_seconds: pulumi.Input[float] | None = None
    max_price_per_hour: pulumi.Input[float] | None = None


class ManagedInstance(Resource, module="cortecs", name="ManagedInstance"):
    """A cortecs.ai dedicated instance serving a Hugging Face model on chosen hardware.

    ``pulumi up`` starts it and returns once it answers a chat completion; ``pulumi destroy``
    stops and deletes it. Pass a :class:`ManagedInstanceArgs` or the same fields as keywords.
    """

    instance_id: pulumi.Output[str]
    base_url: pulumi.Output[str | None]
    status: pulumi.Output[str]
    model_id: pulumi.Output[str]
    model_name: pulumi.Output[str]
    hardware_type_id: pulumi.Output[str]
    context_length: pulumi.Output[int]
    billing_interval: pulumi.Output[str]
    num_workers: pulumi.Output[int]
    started_at: pulumi.Output[str | None]
    price_per_hour: pulumi.Output[float | None]
    currency: pulumi.Output[str | None]
    estimated_cost_per_hour: pulumi.Output[float | None]
    chat_openai_args: pulumi.Output[dict[str, Any]]
    chat_openai_kwargs: pulumi.Output[dict[str, Any]]
    running: pulumi.Output[bool]
    readiness_probe: pulumi.Output[bool]
    adopt_existing: pulumi.Output[bool]
    wait_timeout_seconds: pulumi.Output[float]
    max_price_per_hour: pulumi.Output[float | None]

    def __init__(
        self,
        resource_name: str,
        args: ManagedInstanceArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        if args is None:
            args = ManagedInstanceArgs(**kwargs)
        elif kwargs:
            raise TypeError("pass either a ManagedInstanceArgs or keyword arguments, not both")
        # A fresh dict per resource: the base class adds the serialized provider to it.
        props: dict[str, Any] = {name: None for name in OUTPUT_PROPERTIES}
        # Not dataclasses.asdict: it would deep-copy Outputs.
        props.update({field.name: getattr(args, field.name) for field in fields(args)})
        super().__init__(ManagedInstanceProvider(), resource_name, props, opts)
