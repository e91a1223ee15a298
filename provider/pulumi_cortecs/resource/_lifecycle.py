"""What ManagedInstance's engine calls do against the API, whichever provider serves them.

:class:`InstanceLifecycle` is the one code path behind check, diff, create, update, read and
delete. It takes and returns plain values (property mappings, :class:`~._preview.Checked`,
:class:`~._preview.Planned`); an engine adapter (the dynamic provider) turns them into its
framework's results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from pulumi_cortecs._exceptions import NotFoundError, ProvisioningError, UncertainStartError
from pulumi_cortecs._schema import InstanceInputs, InstanceState
from pulumi_cortecs.api._defaults import resolve_defaults
from pulumi_cortecs.api._models import PENDING, STOPPED, Instance, InstanceArgs
from pulumi_cortecs.resource import _preview
from pulumi_cortecs.resource._context import ProviderContext
from pulumi_cortecs.resource._inputs import checked_inputs, input_props, start_args
from pulumi_cortecs.resource._journal import Owner
from pulumi_cortecs.resource._ownership import Ownership, owner_of
from pulumi_cortecs.resource._readiness import wait_until_answering
from pulumi_cortecs.resource._settings import ConfigSource, ProviderSettings

STOP_TIMEOUT_SECONDS = 600.0


class InstanceLifecycle:
    """Check, diff, create, update, read and delete of ManagedInstance, against the API."""

    def __init__(self, context: ProviderContext) -> None:
        self._context = context
        self._ownership = Ownership(context)

    @classmethod
    def from_config(cls, config: ConfigSource) -> InstanceLifecycle:
        """Built from the stack config the engine passes to ``configure``."""
        return cls(ProviderContext.from_settings(ProviderSettings.from_config(config)))

    # -- preview ---------------------------------------------------------------------------

    def check(self, news: Mapping[str, Any]) -> _preview.Checked:
        return _preview.check(self._context, news)

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> _preview.Planned:
        self._ownership.hold(id_)
        return _preview.diff(olds, news)

    # -- apply -----------------------------------------------------------------------------

    def create(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The new instance's id and outputs."""
        inputs = checked_inputs(props)
        context = self._context
        deadline = context.clock() + inputs.wait_timeout_seconds
        args = InstanceArgs(**start_args(inputs))
        resolved = resolve_defaults(args, context.catalog.model(args.model_id))

        owner = owner_of(inputs.owner)
        try:
            instance = self._ownership.obtain(owner, args, resolved, adopt=inputs.adopt_existing)
        except UncertainStartError as error:
            path = context.journal.path(owner.project, owner.stack)
            raise ProvisioningError(
                f"{error}. The start stays recorded in {path}: `cortecs-instances orphans` "
                "lists it, and once the extra instances are dealt with, the next `pulumi up` "
                "adopts the one it created"
            ) from None
        instance_id = instance.instance_id
        try:
            if inputs.running:
                instance = self._bring_up(instance, inputs, deadline)
            elif instance.status != STOPPED:
                instance = self._stop(instance_id)
        except BaseException as error:
            raise self._discard_after_failure(owner, instance_id, error) from error
        self._ownership.release(owner, instance_id)
        return instance_id, self._outputs(instance, inputs)

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Every output (the engine replaces the old ones with what update returns)."""
        inputs = checked_inputs(news)
        context = self._context
        self._ownership.hold(id_)
        try:
            instance = context.client.get_instance(id_)
        except NotFoundError:
            raise ProvisioningError(
                f"{id_} no longer exists (deleted outside Pulumi); run `pulumi refresh` so the "
                "next `pulumi up` starts a new one"
            ) from None
        if inputs.running and instance.status == STOPPED:
            deadline = context.clock() + inputs.wait_timeout_seconds
            instance = self._bring_up(instance, inputs, deadline)
        elif not inputs.running and instance.status != STOPPED:
            instance = self._stop(id_)
        return self._outputs(instance, inputs)

    def read(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        """The outputs as the API now reports them; ``None`` when the instance is gone."""
        self._ownership.hold(id_)
        try:
            instance = self._context.client.get_instance(id_)
        except NotFoundError:
            return None
        return self._outputs(instance, checked_inputs(props))

    def delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self._delete(owner_of(props.get("owner")), id_)

    def _delete(self, owner: Owner, id_: str) -> None:
        client = self._context.client
        try:
            if client.get_instance(id_).status != STOPPED:
                self._stop(id_)
            client.delete(id_)
            pulumi.log.info(f"deleted {id_}")
        except NotFoundError:
            pass
        self._ownership.release(owner, id_)

    # -- helpers ---------------------------------------------------------------------------

    def _bring_up(self, instance: Instance, inputs: InstanceInputs, deadline: float) -> Instance:
        context = self._context
        client = context.client
        began = context.clock()
        instance_id = instance.instance_id
        if instance.status == STOPPED:
            instance = client.restart(instance_id)
            pulumi.log.info(f"restarting {instance_id}")
        instance = client.wait_until_running(
            instance_id,
            timeout=max(deadline - context.clock(), 0.0),
            on_progress=_progress_logger(context.clock, began),
        )
        if inputs.readiness_probe:
            if not context.api_key or not instance.base_url:
                raise ProvisioningError(
                    f"{instance_id} cannot be probed: no API key (cortecs:apiKey or "
                    "CORTECS_API_KEY) or no base_url"
                )
            attempts = wait_until_answering(
                instance.base_url,
                instance.hf_name,
                context.api_key,
                timeout=max(deadline - context.clock(), 0.0),
                sleep=context.sleep,
                clock=context.clock,
            )
            pulumi.log.info(f"{instance_id}: answered a chat completion (attempt {attempts})")
        pulumi.log.info(f"{instance_id}: ready in {context.clock() - began:.0f} s")
        return instance

    def _stop(self, instance_id: str) -> Instance:
        client = self._context.client
        client.stop(instance_id)
        pulumi.log.info(f"stopping {instance_id}")
        return client.wait_until_stopped(
            instance_id,
            timeout=STOP_TIMEOUT_SECONDS,
            on_progress=_progress_logger(self._context.clock, self._context.clock()),
        )

    def _discard_after_failure(
        self, owner: Owner, instance_id: str, error: BaseException
    ) -> ProvisioningError:
        """Stop and delete an instance whose create failed, so nothing keeps billing."""
        try:
            self._delete(owner, instance_id)
            fate = "It was stopped and deleted, so nothing is billed."
        except Exception as cleanup_error:
            path = self._context.journal.path(owner.project, owner.stack)
            fate = (
                f"Deleting it failed too ({cleanup_error}); it stays recorded in {path}, so "
                "the next `pulumi up` of this resource adopts it."
            )
        return ProvisioningError(f"{instance_id} did not become ready: {error}. {fate}")

    def _outputs(self, instance: Instance, inputs: InstanceInputs) -> dict[str, Any]:
        args = instance.instance_args
        catalog = self._context.catalog
        hardware = catalog.hardware(args.hardware_type_id) if args.hardware_type_id else None
        workers = args.num_workers or inputs.num_workers or 1
        price = hardware.price_info if hardware else None
        started_at = instance.instance_status.started_at
        resolved = {name: getattr(args, name) for name in start_args(inputs)}
        state = InstanceState(
            **{**input_props(inputs), **resolved, "num_workers": workers},
            instance_id=instance.instance_id,
            base_url=instance.base_url,
            status=instance.status,
            model_name=instance.hf_name,
            started_at=started_at.isoformat() if started_at else None,
            price_per_hour=price.price_per_hour if price else None,
            currency=price.currency if price else None,
            estimated_cost_per_hour=round(price.price_per_hour * workers, 4) if price else None,
            chat_openai_args=instance.chat_openai_config(**inputs.chat_openai_kwargs),
        )
        return dataclasses.asdict(state)


def _progress_logger(clock: Callable[[], float], began: float) -> Callable[[Instance], None]:
    def log(instance: Instance) -> None:
        progress = instance.instance_status.init_progress
        step = (
            f"step {progress.current_step}/{progress.num_steps} {progress.description}"
            if progress and instance.status == PENDING
            else instance.status
        )
        pulumi.log.info(f"{instance.instance_id}: {step}, {clock() - began:.0f} s")

    return log
