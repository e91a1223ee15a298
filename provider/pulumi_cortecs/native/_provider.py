"""``cortecs:index:Instance`` served natively: the lifecycle ``ManagedInstance`` runs on (one
code path), with what the engine offers native providers and not dynamic ones:

- customTimeouts: a create, update or delete timeout from the engine overrides
  ``waitTimeoutSeconds``;
- Cancel: every wait in flight stops within a second (its sleeps wait on the cancellation);
- partial state: a create or update that fails or is cancelled once the instance exists
  returns it to the engine as an initialization failure, so the state keeps it;
- import: a read with only an id rebuilds inputs and state from the API;
- ownership from the URN the engine passes (project, stack, resource name).

The lifecycle and the API client are synchronous: each call runs in a thread of the server's
pool, so sixty-four creates wait side by side.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from pulumi.provider.experimental import provider as api

from pulumi_cortecs._exceptions import InitializationFailed, OperationCancelled
from pulumi_cortecs._schema import INPUTS, NAMESPACE, OUTPUTS, names
from pulumi_cortecs.native._package_schema import package_schema
from pulumi_cortecs.native._server import ResourceInitError
from pulumi_cortecs.native._values import camel, plain, to_props, to_values
from pulumi_cortecs.resource._inputs import UNKNOWN
from pulumi_cortecs.resource._lifecycle import InstanceLifecycle


class InstanceProvider(api.Provider):
    """The ``cortecs`` package's provider."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._lifecycle: InstanceLifecycle | None = None

    @property
    def lifecycle(self) -> InstanceLifecycle:
        if self._lifecycle is None:
            raise RuntimeError("the engine has not configured the provider yet")
        return self._lifecycle

    def _sleep(self, seconds: float) -> None:
        """Every wait of the lifecycle and its client: over at once when the engine cancels."""
        if self._cancelled.wait(seconds):
            raise OperationCancelled("the operation was cancelled (Ctrl-C, or the engine quit)")

    async def get_schema(self, request: api.GetSchemaRequest) -> api.GetSchemaResponse:
        return api.GetSchemaResponse(schema=json.dumps(package_schema()))

    async def configure(self, request: api.ConfigureRequest) -> api.ConfigureResponse:
        # The engine applies no environment fallbacks: the settings read them, as for the
        # dynamic provider.
        config = {f"{NAMESPACE}:{key}": plain(value) for key, value in request.args.items()}
        self._lifecycle = await asyncio.to_thread(
            InstanceLifecycle.from_config, config, sleep=self._sleep
        )
        return api.ConfigureResponse(accept_secrets=True, supports_preview=True)

    async def cancel(self) -> None:
        # Also sent at the end of every run: quick, and harmless twice.
        self._cancelled.set()

    async def check(self, request: api.CheckRequest) -> api.CheckResponse:
        news, secret = to_props(request.new_inputs)
        checked = await asyncio.to_thread(self.lifecycle.check, news)
        inputs = {name: checked.inputs[name] for name in names(INPUTS) if name in checked.inputs}
        return api.CheckResponse(
            inputs=to_values(inputs, secret),
            failures=[api.CheckFailure(camel(f.property), f.reason) for f in checked.failures],
        )

    async def diff(self, request: api.DiffRequest) -> api.DiffResponse:
        olds, _ = to_props(request.old_state)
        news, _ = to_props(request.new_inputs)
        planned = self.lifecycle.diff(request.resource_id, olds, news)
        kinds = {name: api.PropertyDiffKind.UPDATE_REPLACE for name in planned.replaces}
        kinds |= {name: api.PropertyDiffKind.UPDATE for name in planned.updates}
        return api.DiffResponse(
            changes=planned.changes,
            replaces=[camel(name) for name in planned.replaces],
            detailed_diff={
                camel(name): api.PropertyDiff(kind, True) for name, kind in kinds.items()
            },
            delete_before_replace=False,
        )

    async def create(self, request: api.CreateRequest) -> api.CreateResponse:
        props, secret = to_props(request.properties)
        if request.preview:
            # The price is known at preview (check worked it out); the rest once it exists.
            checked = await asyncio.to_thread(self.lifecycle.check, props)
            unknown = dict.fromkeys(names(OUTPUTS), UNKNOWN)
            known = {name: checked.inputs[name] for name in unknown if name in checked.inputs}
            return api.CreateResponse(
                resource_id="", properties=to_values({**props, **unknown, **known}, secret)
            )
        if self._cancelled.is_set():
            raise OperationCancelled("the operation was cancelled before anything was started")
        props["owner"] = request.urn  # the owner of its instances
        try:
            instance_id, outputs = await asyncio.to_thread(
                self.lifecycle.create, props, timeout=request.timeout or None, keep=True
            )
        except InitializationFailed as failed:
            raise _partial_state(failed, props, secret) from None
        # Reached only while the engine still waits for the answer: a create it cancelled (or
        # that outlived it) leaves the instance in the journal.
        await asyncio.to_thread(self.lifecycle.hand_over, instance_id, props)
        return api.CreateResponse(resource_id=instance_id, properties=to_values(outputs, secret))

    async def update(self, request: api.UpdateRequest) -> api.UpdateResponse:
        olds, old_secret = to_props(request.olds)
        news, secret = to_props(request.news)
        if request.preview:
            # Nothing is stopped or restarted at preview.
            planned = self.lifecycle.planned_update(olds, news)
            return api.UpdateResponse(properties=to_values(planned, secret | old_secret))
        news["owner"] = request.urn  # the owner of its instances
        try:
            outputs = await asyncio.to_thread(
                self.lifecycle.update,
                request.resource_id,
                olds,
                news,
                timeout=request.timeout or None,
                keep=True,
            )
        except InitializationFailed as failed:
            raise _partial_state(failed, news, secret) from None
        return api.UpdateResponse(properties=to_values(outputs, secret))

    async def read(self, request: api.ReadRequest) -> api.ReadResponse:
        if not request.properties:
            # `pulumi import`: nothing but the id; a missing instance is an error, not "gone".
            outputs, inputs = await asyncio.to_thread(self.lifecycle.import_, request.resource_id)
            return api.ReadResponse(request.resource_id, to_values(outputs), to_values(inputs))
        props, secret = to_props(request.properties)
        found = await asyncio.to_thread(self.lifecycle.read, request.resource_id, props)
        if found is None:
            return api.ReadResponse(None, {}, {})  # gone: refresh drops it from the state
        # The inputs the program declared stay what later diffs compare against.
        return api.ReadResponse(request.resource_id, to_values(found, secret), request.inputs)

    async def delete(self, request: api.DeleteRequest) -> None:
        props, _ = to_props(request.properties)
        props["owner"] = request.urn  # the owner of its instances
        await asyncio.to_thread(
            self.lifecycle.delete, request.resource_id, props, timeout=request.timeout or None
        )


def _partial_state(
    failed: InitializationFailed, inputs: dict[str, Any], secret: set[str]
) -> ResourceInitError:
    declared = {name: value for name, value in inputs.items() if name in names(INPUTS)}
    return ResourceInitError(
        str(failed),
        failed.instance_id,
        to_values(failed.outputs, secret),
        inputs=to_values(declared, secret),
    )
