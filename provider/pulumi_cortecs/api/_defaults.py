"""The arguments the API starts an instance with when a caller leaves some unset, and whether
an instance was started with given arguments.

An instance carries nothing that names who started it, so its arguments, as the API resolved
them, are the only evidence that it answers a particular start request.
"""

from __future__ import annotations

from pulumi_cortecs._schema import START_ARGS
from pulumi_cortecs.api._models import Instance, InstanceArgs, ModelPreview

# The API never picks a context length above this by default, even where the hardware allows more.
DEFAULT_CONTEXT_CAP = 32000


def resolve_defaults(args: InstanceArgs, model: ModelPreview) -> InstanceArgs:
    """The arguments the API will start with, filling in its documented defaults."""
    hardware = args.hardware_type_id or model.recommended_config
    context = args.context_length
    if context is None and hardware in model.max_context_lengths:
        context = min(DEFAULT_CONTEXT_CAP, model.max_context_lengths[hardware])
    fixed = {
        prop.name: prop.api_default
        for prop in START_ARGS
        if prop.api_default is not None and getattr(args, prop.name) is None
    }
    return args.model_copy(
        update={"hardware_type_id": hardware, "context_length": context, **fixed}
    )


def started_with(instance: Instance, resolved: InstanceArgs) -> bool:
    """Whether the API resolved the instance's start arguments to ``resolved`` (an argument the
    API does not report is its documented default)."""
    for prop in START_ARGS:
        actual = getattr(instance.instance_args, prop.name)
        if (prop.api_default if actual is None else actual) != getattr(resolved, prop.name):
            return False
    return True
