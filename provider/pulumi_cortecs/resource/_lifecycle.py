"""What an instance resource's engine calls do against the API, whichever provider serves them.

:class:`InstanceLifecycle` is the one code path behind check, diff, create, update, read and
delete, for the dynamic ``ManagedInstance`` and the native ``cortecs:index:Instance`` alike. It
takes and returns plain values (property mappings, :class:`~._preview.Checked`,
:class:`~._preview.Planned`); each engine adapter turns them into its framework's results. What
only a native provider can offer is asked for explicitly: a ``timeout`` from the engine
(customTimeouts), and ``keep=True`` to hand a failed create's instance to the engine as partial
state (:class:`~pulumi_cortecs.InitializationFailed`) rather than delete it.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from pulumi_cortecs import _signals
from pulumi_cortecs._command import command
from pulumi_cortecs._exceptions import (
    ApiError,
    InitializationFailed,
    NotFoundError,
    ProvisioningError,
    UncertainStartError,
)
from pulumi_cortecs._leases import STOP
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._pricing import DEFAULT_INTERVAL, cost_per_hour, cost_since_start
from pulumi_cortecs._schema import (
    OUTPUTS,
    PYTHON_NAMING,
    START_ARGS,
    InstanceInputs,
    InstanceState,
    Naming,
    names,
)
from pulumi_cortecs.api._auth import Secret
from pulumi_cortecs.api._defaults import resolve_defaults
from pulumi_cortecs.api._models import (
    PENDING,
    RUNNING,
    STOPPED,
    Instance,
    InstanceArgs,
    PriceInfo,
)
from pulumi_cortecs.api._waits import STOP_TIMEOUT_SECONDS
from pulumi_cortecs.resource import _auto_stop, _preview
from pulumi_cortecs.resource._context import ProviderContext
from pulumi_cortecs.resource._inputs import (
    UNKNOWN,
    checked_inputs,
    input_props,
    is_unknown,
    start_args,
)
from pulumi_cortecs.resource._ownership import Ownership, owner_of
from pulumi_cortecs.resource._readiness import wait_until_answering
from pulumi_cortecs.resource._reporting import Reporter
from pulumi_cortecs.resource._settings import ConfigSource, ProviderSettings

_REPORTED_BY_THE_INSTANCE = ("status", "base_url", "started_at", "stops_at", "chat_openai_args")
"""The outputs that change when an instance is brought up or stopped."""


class InstanceLifecycle:
    """Check, diff, create, update, read and delete of ManagedInstance, against the API."""

    def __init__(self, context: ProviderContext, *, lease_action: str = STOP) -> None:
        """``lease_action``: what ``reap`` does once an instance's lease runs out (a job's
        instance is deleted, a resource's stopped)."""
        self._context = context
        self._ownership = Ownership(context)
        self._lease_action = lease_action

    @classmethod
    def from_config(
        cls,
        config: ConfigSource,
        *,
        sleep: Callable[[float], None] = time.sleep,
        naming: Naming = PYTHON_NAMING,
    ) -> InstanceLifecycle:
        """Built from the stack config the engine passes to ``configure``; every wait sleeps
        with ``sleep``, and messages name things as ``naming`` does."""
        settings = ProviderSettings.from_config(config)
        return cls(ProviderContext.from_settings(settings, sleep=sleep, naming=naming))

    # -- preview ---------------------------------------------------------------------------

    def check(self, news: Mapping[str, Any], *, report: Reporter) -> _preview.Checked:
        checked = _preview.check(self._context, news)
        for message in checked.messages:
            report.info(message)
        return checked

    def diff(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, report: Reporter
    ) -> _preview.Planned:
        self._ownership.hold(id_)
        planned = _preview.diff(olds, news, self._context.leases.now())
        for message in planned.messages:
            report.info(message)
        return planned

    def planned_create(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """What :meth:`create` will return, as far as a preview knows without starting anything:
        the inputs, the price (the check works it out, and said it already), and unknown what
        the instance reports once it exists."""
        checked = _preview.check(self._context, props)
        unknown = dict.fromkeys(names(OUTPUTS), UNKNOWN)
        known = {name: checked.inputs[name] for name in unknown if name in checked.inputs}
        return {**props, **unknown, **known}

    def planned_update(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """What :meth:`update` will return, as far as a preview knows without touching the
        instance: the new inputs, the old outputs they leave as they are, and unknown what the
        instance reports once it has been brought up or stopped."""
        inputs = checked_inputs(news)
        planned = {**olds, **input_props(inputs)}
        restarts = inputs.running is True and _auto_stop.ran_out(olds, self._context.leases.now())
        if (
            is_unknown(inputs.running)
            or restarts
            or olds.get("status") != (RUNNING if inputs.running else STOPPED)
        ):
            planned |= dict.fromkeys(_REPORTED_BY_THE_INSTANCE, UNKNOWN)
        elif inputs.chat_openai_kwargs != olds.get("chat_openai_kwargs"):
            planned["chat_openai_args"] = UNKNOWN
        if inputs.auto_stop_after != olds.get("auto_stop_after"):
            planned["stops_at"] = UNKNOWN
        return planned

    # -- apply -----------------------------------------------------------------------------

    def create(
        self,
        props: Mapping[str, Any],
        *,
        report: Reporter,
        timeout: float | None = None,
        keep: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """The new instance's id and outputs. ``timeout`` overrides ``wait_timeout_seconds``;
        ``keep``: an instance that fails to come up is reported, not deleted. Its journal record
        stays until the adapter calls :meth:`hand_over` with the engine's answer in hand."""
        inputs = checked_inputs(props)
        context = self._context
        deadline = context.clock() + (timeout or inputs.wait_timeout_seconds)
        args = InstanceArgs(**start_args(inputs))
        resolved = resolve_defaults(args, context.catalog.model(args.model_id))

        owner = owner_of(inputs.owner)

        def starting(signum: int) -> None:
            report.info(
                f"{signal.Signals(signum).name}: the start is under way; what it starts is "
                "stopped and deleted as soon as its answer names it"
            )

        # A signal (a job's Ctrl-C, SIGTERM) that cut the start short would lose the answer
        # naming the instance: it lands once the instance can be cleaned up.
        with _signals.postponed(starting) as deliver_signal:
            try:
                instance = self._ownership.obtain(
                    owner, args, resolved, adopt=inputs.adopt_existing, report=report
                )
            except UncertainStartError as error:
                path = context.journal.where(owner)
                raise ProvisioningError(
                    f"{error}. The start stays recorded in {path}: {command('orphans')} "
                    "lists it, and once the extra instances are dealt with, the next `pulumi "
                    "up` adopts the one it created"
                ) from None
            instance_id = instance.instance_id
            try:
                deliver_signal()
                if inputs.running:
                    instance = self._bring_up(instance, inputs, deadline, report)
                elif instance.status != STOPPED:
                    instance = self._stop(instance_id, report)
                stops_at = self._leased(instance, inputs, report, renew=True)
            except BaseException as error:
                if keep:
                    raise self._kept_after_failure(owner, instance_id, inputs, error) from error
                with _signals.deferred(still_tearing_down(instance_id, report)):
                    raise self._discard_after_failure(owner, instance_id, error, report) from error
        return instance_id, self._outputs(instance, inputs, stops_at)

    def hand_over(self, id_: str, props: Mapping[str, Any]) -> None:
        """The engine has the created instance's id: the journal no longer needs to keep it.
        Not part of :meth:`create`, so that a create whose caller went away (the engine cancelled
        the call, or died) leaves its instance recorded for ``orphans`` and the next ``up``."""
        self._ownership.release(owner_of(props.get("owner")), id_)

    def update(
        self,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        report: Reporter,
        timeout: float | None = None,
        keep: bool = False,
    ) -> dict[str, Any]:
        """Every output (the engine replaces the old ones with what update returns).
        ``timeout`` and ``keep`` as for :meth:`create`."""
        inputs = checked_inputs(news)
        context = self._context
        self._ownership.hold(id_)
        instance = context.client.find_instance(id_)
        if instance is None:
            raise ProvisioningError(
                f"{id_} no longer exists (deleted outside Pulumi); run `pulumi refresh` so the "
                "next `pulumi up` starts a new one"
            )
        brought_up = inputs.running and instance.status in (STOPPED, PENDING)
        try:
            # A pending instance is coming up (or was left booting): wait and probe it like a
            # create.
            if brought_up:
                deadline = context.clock() + (timeout or inputs.wait_timeout_seconds)
                instance = self._bring_up(instance, inputs, deadline, report)
            elif not inputs.running and instance.status != STOPPED:
                instance = self._stop(id_, report, timeout)
        except BaseException as error:
            if keep:
                owner = owner_of(inputs.owner)
                raise self._kept_after_failure(owner, id_, inputs, error) from error
            raise
        renew = brought_up or inputs.auto_stop_after != olds.get("auto_stop_after")
        stops_at = self._leased(instance, inputs, report, renew=renew)
        return self._outputs(instance, inputs, stops_at)

    def read(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        """The outputs as the API now reports them; ``None`` when the instance is gone."""
        self._ownership.hold(id_)
        instance = self._context.client.find_instance(id_)
        if instance is None:
            return None
        stops_at = _auto_stop.held_until(self._context, instance)
        return self._outputs(instance, checked_inputs(props), stops_at)

    def import_(self, id_: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Outputs and inputs of an instance this program did not create (``pulumi import``):
        the inputs are what the API resolved, so a program declaring them plans no change."""
        instance = self._context.client.find_instance(id_)
        if instance is None:
            raise ProvisioningError(f"{id_} does not exist, so there is nothing to import")
        self._ownership.hold(id_)
        args = instance.instance_args
        inputs = InstanceInputs(
            **{name: getattr(args, name) for name in names(START_ARGS)},
            running=instance.status != STOPPED,
        )
        return self._outputs(instance, inputs), input_props(inputs)

    def delete(
        self,
        id_: str,
        props: Mapping[str, Any],
        *,
        report: Reporter,
        timeout: float | None = None,
    ) -> None:
        """``timeout`` bounds the wait for the instance to stop (customTimeouts)."""
        not_deleted = self._stop_and_delete(id_, report, timeout)
        if not_deleted is not None:
            raise ProvisioningError(
                f"{id_} was stopped, so nothing is billed, but not deleted: {not_deleted}"
            )
        self._context.leases.revoke(id_)
        self._ownership.release(owner_of(props.get("owner")), id_)

    # -- helpers ---------------------------------------------------------------------------

    def _bring_up(
        self, instance: Instance, inputs: InstanceInputs, deadline: float, report: Reporter
    ) -> Instance:
        context = self._context
        client = context.client
        began = context.clock()
        instance_id = instance.instance_id
        if instance.status == STOPPED:
            instance = client.restart(instance_id)
            report.info(f"restarting {instance_id}")
        if instance.instance_status.started_at is None:
            # Leased while it boots: a kill of this process now leaves more than a record.
            _auto_stop.booting(
                context,
                instance,
                inputs,
                self._price(instance),
                max(deadline - context.clock(), 0.0),
                action=self._lease_action,
            )
        log_progress = _progress_logger(report, context.clock, began, context.on_progress)
        log_progress(instance)  # as started, restarted, adopted or found
        instance = client.wait_until_running(
            instance_id,
            timeout=max(deadline - context.clock(), 0.0),
            on_progress=log_progress,
        )
        if inputs.readiness_probe:
            if not context.api_key or not instance.base_url:
                raise ProvisioningError(
                    f"{instance_id} cannot be probed: no API key (cortecs:apiKey or "
                    f"CORTECS_API_KEY) or no {context.naming('base_url')}"
                )
            attempts = wait_until_answering(
                instance.base_url,
                instance.hf_name,
                Secret(context.api_key),
                timeout=max(deadline - context.clock(), 0.0),
                policy=client.poll_policy(),
                http=context.probe_http,
                sleep=context.sleep,
                clock=context.clock,
                naming=context.naming,
            )
            report.info(f"{instance_id}: answered a chat completion (attempt {attempts})")
        report.info(f"{instance_id}: ready in {context.clock() - began:.0f} s")
        return instance

    def _stop(self, instance_id: str, report: Reporter, timeout: float | None = None) -> Instance:
        self._context.client.stop(instance_id)
        report.info(f"stopping {instance_id}")
        return self._wait_until_stopped(instance_id, report, timeout)

    def _wait_until_stopped(
        self, instance_id: str, report: Reporter, timeout: float | None = None
    ) -> Instance:
        return self._context.client.wait_until_stopped(
            instance_id,
            timeout=timeout or STOP_TIMEOUT_SECONDS,
            on_progress=_progress_logger(report, self._context.clock, self._context.clock()),
        )

    def _stop_and_delete(
        self, instance_id: str, report: Reporter, timeout: float | None = None
    ) -> str | None:
        """Stop and delete an instance. ``None`` once the API showed it deleted or gone;
        otherwise why it was seen stopped yet not deleted. Raises when it was not seen stopped.
        """
        client = self._context.client
        instance = client.find_instance(instance_id)
        if instance is None:
            return None
        if instance.status != STOPPED:
            self._log_cost(instance, report)
            # A 404 here is no proof of anything (it was just seen), so it is not caught.
            client.stop(instance_id)
            report.info(f"stopping {instance_id}")
            try:
                self._wait_until_stopped(instance_id, report, timeout)
            except NotFoundError:
                return None  # a wait raises it only once the instance is confirmed gone
        try:
            client.delete(instance_id)
        except NotFoundError:
            # Not proof by itself: an API that lags behind its own writes answers 404 too.
            if client.find_instance(instance_id) is not None:
                return "the API answered its deletion with 404 but still shows it"
        except ApiError as error:
            return error.message
        report.info(f"deleted {instance_id}")
        return None

    def _discard_after_failure(
        self, owner: Owner, instance_id: str, error: BaseException, report: Reporter
    ) -> ProvisioningError:
        """Stop and delete an instance whose create failed, and say what became of it: nothing
        is billed only once the API showed it stopped or deleted."""
        kept = (
            f"it stays recorded in {self._context.journal.where(owner)}, "
            "so the next `pulumi up` of this resource adopts it"
        )
        try:
            not_deleted = self._stop_and_delete(instance_id, report)
        except Exception as cleanup_error:
            fate = (
                f"It may still be billing: it was not seen stopped ({cleanup_error}); {kept}, "
                f"and {command(f'delete {instance_id}')} stops and deletes it."
            )
        else:
            if not_deleted is None:
                self._context.leases.revoke(instance_id)
                self._ownership.release(owner, instance_id)
                fate = "It was stopped and deleted, so nothing is billed."
            else:
                fate = (
                    f"It was stopped, so nothing is billed, but not deleted ({not_deleted}); "
                    f"{kept}."
                )
        return ProvisioningError(f"{instance_id} did not become ready: {error}. {fate}")

    def _kept_after_failure(
        self, owner: Owner, instance_id: str, inputs: InstanceInputs, error: BaseException
    ) -> InitializationFailed:
        """The instance as it was last seen, for the engine to record (it owns it from now on:
        the next ``up`` finishes bringing it up, ``destroy`` deletes it)."""
        try:
            instance = self._context.client.find_instance(instance_id)
        except Exception:
            instance = None  # the failure may be the API's: report what is known
        outputs = (
            self._outputs(instance, inputs)
            if instance is not None
            else {**input_props(inputs), "instance_id": instance_id, "status": PENDING}
        )
        self._ownership.release(owner, instance_id)
        return InitializationFailed(
            f"{instance_id} did not become ready: {error}. It is kept and recorded in the "
            "stack: the next `pulumi up` finishes bringing it up, `pulumi destroy` deletes it",
            instance_id=instance_id,
            outputs=outputs,
        )

    def _leased(
        self, instance: Instance, inputs: InstanceInputs, report: Reporter, *, renew: bool
    ) -> float | None:
        """When the instance's lease runs out, once :func:`_auto_stop.granted` has seen to it."""
        return _auto_stop.granted(
            self._context,
            instance,
            inputs,
            self._price(instance),
            report,
            renew=renew,
            action=self._lease_action,
        )

    def _price(self, instance: Instance) -> PriceInfo | None:
        """The price of the instance's hardware, if the catalog has it."""
        hardware_type_id = instance.instance_args.hardware_type_id
        hardware = self._context.catalog.hardware(hardware_type_id) if hardware_type_id else None
        return hardware.price_info if hardware else None

    def _log_cost(self, instance: Instance, report: Reporter) -> None:
        """What the instance cost since it last started, as it is about to stop."""
        price = self._price(instance)
        cost = cost_since_start(instance, price, datetime.now(timezone.utc))
        if cost is not None and price is not None:
            report.info(
                f"{instance.instance_id} cost {cost:.2f} {price.currency} since its last start "
                f"(billed {instance.instance_args.billing_interval or DEFAULT_INTERVAL})"
            )

    def _outputs(
        self, instance: Instance, inputs: InstanceInputs, stops_at: float | None = None
    ) -> dict[str, Any]:
        args = instance.instance_args
        workers = args.num_workers or inputs.num_workers or 1
        price = self._price(instance)
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
            estimated_cost_per_hour=cost_per_hour(price.price_per_hour, workers) if price else None,
            stops_at=_auto_stop.iso(stops_at) if stops_at is not None else None,
            chat_openai_args=instance.chat_openai_config(**inputs.chat_openai_kwargs),
        )
        return dataclasses.asdict(state)


def _progress_logger(
    report: Reporter,
    clock: Callable[[], float],
    began: float,
    on_progress: Callable[[Instance], None] | None = None,
) -> Callable[[Instance], None]:
    """Reports each status and step once, however often it is seen: a step of bringing the
    instance up as the resource's status, a status it has reached (running, stopped) as a
    message; and tells ``on_progress`` each report."""
    last_logged: str | None = None

    def log(instance: Instance) -> None:
        nonlocal last_logged
        progress = instance.instance_status.init_progress
        step = (
            f"step {progress.current_step}/{progress.num_steps} {progress.description}"
            if progress and instance.status == PENDING
            else instance.status
        )
        if step != last_logged:
            last_logged = step
            message = f"{instance.instance_id}: {step}, {clock() - began:.0f} s"
            (report.status if instance.status == PENDING else report.info)(message)
        if on_progress is not None:
            on_progress(instance)

    return log


def still_tearing_down(instance_id: str, report: Reporter) -> Callable[[int], None]:
    """What a signal that arrives during a teardown is told: it goes on (see
    :func:`~pulumi_cortecs._signals.deferred`)."""

    def tell(signum: int) -> None:
        report.info(
            f"{signal.Signals(signum).name}: still stopping and deleting {instance_id}, so that "
            "it stops billing"
        )

    return tell
