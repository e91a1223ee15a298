"""The dynamic provider behind ManagedInstance, as the engine sees it.

The engine runs this in its own process (``python -m pulumi.dynamic``), unpickles the provider
by reference and calls ``configure`` once with the whole stack config. Everything the provider
needs at run time (client, catalog, journal) is built there, never at construction, because
whatever a provider holds when the program constructs it is pickled into every resource's state.

A Pulumi program imports this module only to name the class, so it stays light: the HTTP
client, the models and the lifecycle logic (:mod:`~pulumi_cortecs.resource._lifecycle`) load in
``configure``, in the provider process.

State records this class by its module path, ``pulumi_cortecs.resource.dynamic_provider``: the
path is part of the package's compatibility promise, which is why this module is public.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import (
    CheckFailure,
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
    from pulumi_cortecs.resource._reporting import EngineLog, Reporter


class ManagedInstanceProvider(ResourceProvider):
    """Creates, updates, reads and deletes dedicated instances for ManagedInstance."""

    _lifecycle: InstanceLifecycle
    _log: EngineLog

    def configure(self, req: ConfigureRequest) -> None:
        # Here, not at the top: see the module docstring.
        from pulumi_cortecs.resource._lifecycle import InstanceLifecycle
        from pulumi_cortecs.resource._reporting import EngineLog, engine_address

        # The engine runs `python -u -m pulumi.dynamic <engine address>`: the SDK's server never
        # dials that address, so the provider does, to show its messages under their resources.
        self._log = EngineLog(engine_address(sys.argv[1:]))
        if not widen_server_pool():
            self._log.reporter("").warn(
                "could not lift the provider server's limit of 4 calls at a time (has the "
                "Pulumi SDK changed?): instances beyond the fourth are created in later rounds"
            )
        self._lifecycle = InstanceLifecycle.from_config(req.config)

    def _reporter(self) -> Reporter:
        """The reporter of the engine call being served, under its resource."""
        from pulumi_cortecs.resource._request_urn import request_urn

        return self._log.reporter(request_urn())

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = self._lifecycle.check(news, report=self._reporter())
        failures = [CheckFailure(f.property, f.reason) for f in checked.failures]
        return CheckResult(checked.inputs, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        planned = self._lifecycle.diff(id_, olds, news, report=self._reporter())
        return DiffResult(
            changes=planned.changes,
            replaces=planned.replaces,
            stables=[],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        instance_id, outputs = self._lifecycle.create(props, report=self._reporter())
        self._lifecycle.hand_over(instance_id, props)
        return CreateResult(instance_id, outputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._lifecycle.update(id_, olds, news, report=self._reporter()))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outputs = self._lifecycle.read(id_, props)
        # An empty id tells the engine the instance is gone (and no outputs would crash it).
        return ReadResult(id_, outputs) if outputs is not None else ReadResult(id_="", outs={})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._lifecycle.delete(id_, props, report=self._reporter())
