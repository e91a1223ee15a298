"""ManagedInstance: a dedicated LLM instance declared in a Pulumi program.

Its arguments and its outputs are those the schema declares (:mod:`pulumi_cortecs._schema`):
``ManagedInstanceArgs`` has a field per input, and the class an ``Output`` annotation per
property, which is how the SDK turns wire values back into the right Python types.

Secrets: the engine keeps an output secret when the input of the same name was, but an output
that carries another input's values (``chat_openai_args`` carries ``chat_openai_kwargs``) is
secret only if the resource lists it in ``additional_secret_outputs``, and a provider cannot
mark outputs itself. So the resource lists it whenever that input may hold a secret.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
import typing
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import Resource
from pulumi.runtime.settings import get_root_resource

from pulumi_cortecs._schema import OUTPUTS, PROPERTIES, USER_INPUTS, InstanceState, Property
from pulumi_cortecs.resource.dynamic_provider import ManagedInstanceProvider

_TYPES = typing.get_type_hints(InstanceState)


def _of(generic: Any, prop: Property) -> Any:
    """``generic[T]`` for the property's declared type ``T``, built at run time."""
    return operator.getitem(generic, _TYPES[prop.name])


ManagedInstanceArgs = dataclasses.make_dataclass(
    "ManagedInstanceArgs",
    [
        (prop.name, _of(pulumi.Input, prop))
        if prop.required
        else (prop.name, _of(pulumi.Input, prop) | None, None)
        for prop in USER_INPUTS
    ],
)
ManagedInstanceArgs.__module__ = __name__
ManagedInstanceArgs.__doc__ = (
    "The inputs of a ManagedInstance; see the README's table for defaults and effects."
)


class ManagedInstance(Resource, module="cortecs", name="ManagedInstance"):
    """A cortecs.ai dedicated instance serving a Hugging Face model on chosen hardware.

    ``pulumi up`` starts it and returns once it answers a chat completion; ``pulumi destroy``
    stops and deletes it. Pass a :class:`ManagedInstanceArgs` or the same fields as keywords.
    """

    __annotations__ = {prop.name: _of(pulumi.Output, prop) for prop in PROPERTIES}

    def __init__(
        self,
        resource_name: str,
        args: Any | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        if args is None:
            args = ManagedInstanceArgs(**kwargs)
        elif kwargs:
            raise TypeError("pass either a ManagedInstanceArgs or keyword arguments, not both")
        # A fresh dict per resource: the base class adds the serialized provider to it. Outputs
        # are passed as None so the SDK makes them resolvable.
        props: dict[str, Any] = {prop.name: None for prop in OUTPUTS}
        # Not dataclasses.asdict: it would deep-copy Outputs.
        props.update({prop.name: getattr(args, prop.name) for prop in USER_INPUTS})
        # Who the instance belongs to: only this resource's own journal records may adopt one.
        props["owner"] = _urn(f"pulumi-python:{self._resource_type_name}", resource_name, opts)
        secret = pulumi.ResourceOptions(additional_secret_outputs=_secret_outputs(props))
        super().__init__(
            ManagedInstanceProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(opts, secret),
        )


def _urn(type_: str, name: str, opts: pulumi.ResourceOptions | None) -> pulumi.Output[str]:
    """The URN the resource registers under, computed as the engine does before it registers:
    its parent's type chain included (two components' children ``llm`` have two URNs), the
    root stack's left out."""
    parent = opts.parent if opts else None
    if parent is None or parent is get_root_resource():
        return pulumi.create_urn(name, type_)
    urn = pulumi.create_urn(name, type_, parent=parent)
    # The value only: as a dependency, the parent would be a cycle (it waits for its children).
    value = typing.cast("typing.Awaitable[str]", urn.future())
    return pulumi.Output(set(), value, urn.is_known(), urn.is_secret())


def _secret_outputs(props: Mapping[str, Any]) -> list[str]:
    """The outputs the engine must keep secret: those declared so, and those carrying an input
    that may hold a secret."""
    return [
        prop.name
        for prop in OUTPUTS
        if prop.secret or (prop.carries is not None and _may_hold_secret(props[prop.carries]))
    ]


def _may_hold_secret(value: Any) -> bool:
    """Whether a program's value may be secret at any depth. Only resolving an Output tells
    whether it is, and the options are fixed before it resolves: every Output (or other
    awaitable) counts. Plain values never are."""
    if isinstance(value, Mapping):
        return any(_may_hold_secret(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_may_hold_secret(item) for item in value)
    return isinstance(value, pulumi.Output) or inspect.isawaitable(value)
