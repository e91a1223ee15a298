"""The dynamic provider behind ManagedInstance, as the engine sees it.

The engine runs this in its own process (``python -m pulumi.dynamic``), unpickles the provider
by reference and calls ``configure`` once with the whole stack config. Everything the provider
needs at run time (client, catalog, journal) is built there, never at construction, because
whatever a provider holds when the program constructs it is pickled into every resource's state.

A Pulumi program imports this module only to name the class, so it stays light: the HTTP
client, the models and the lifecycle logic (:mod:`provider.lifecycle`) load in ``configure``,
in the provider process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from pulumi_cortecs.resource._server_pool import widen_server_pool

if TYPE_CHECKING:
    from pulumi_cortecs.resource._lifecycle import InstanceLifecycle


class ManagedInstanceProvider(ResourceProvider):
    """Creates, updates, reads and deletes dedicated instances for ManagedInstance."""

    _lifecycle: InstanceLifecycle

    def configure(self, req: ConfigureRequest) -> None:
        from pulumi_cortecs.resource._lifecycle import (
            InstanceLifecycle,  # here, not above: see the module docstring
        )

        widen_server_pool()
        self._lifecycle = InstanceLifecycle.from_config(req.config)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return self._lifecycle.check(news)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return self._lifecycle.diff(id_, olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return self._lifecycle.create(props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return self._lifecycle.update(id_, olds, news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return self._lifecycle.read(id_, props)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self._lifecycle.delete(id_)
