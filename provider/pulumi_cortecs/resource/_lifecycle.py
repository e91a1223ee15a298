"""What ManagedInstance's engine calls do against the API.

:class:`InstanceLifecycle` holds the logic of check, diff, create, update, read and delete;
:class:`ProviderContext` what one provider process shares across resources. The engine-facing
``ManagedInstanceProvider`` builds them in ``configure`` and hands every call on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from pulumi_cortecs._exceptions import (
    ApiConnectionError,
    ApiError,
    MissingCredentialsError,
    NotFoundError,
    ProvisioningError,
)
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import (
    PENDING,
    STOPPED,
    HardwareType,
    Instance,
    InstanceArgs,
    ModelPreview,
)
from pulumi_cortecs.resource._catalog import Catalog, UnknownModelError, resolve_defaults
from pulumi_cortecs.resource._inputs import (
    REPLACE_PROPERTIES,
    UPDATE_PROPERTIES,
    Failure,
    InstanceInputs,
    is_unknown,
    parse_inputs,
)
from pulumi_cortecs.resource._journal import StartJournal
from pulumi_cortecs.resource._readiness import wait_until_answering
from pulumi_cortecs.resource._settings import ConfigSource, ProviderSettings

STOP_TIMEOUT_SECONDS = 600.0
# A deployment rides out about half a minute of API trouble per call (backoff 0.5 s doubling)
# rather than failing half-way through a stack: measured in RELIABILITY.md, five attempts
# still lost about one call in 5,500 at a 25% fault rate.
PROVIDER_MAX_ATTEMPTS = 7
CREDENTIALS = "cortecs:clientId and cortecs:clientSecret"


class ProviderContext:
    """What one provider process shares across resources: client, catalog, journal, claims."""

    def __init__(
        self,
        client: Client,
        *,
        api_key: str | None = None,
        journal: StartJournal | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.catalog = Catalog(client)
        self.api_key = api_key
        self.journal = journal or StartJournal()
        self.clock = clock
        self.sleep = sleep
        self._claims_lock = threading.Lock()
        self._claimed: set[str] = set()
        self._access_lock = threading.Lock()
        self._access_checked = False
        self._access_failure: Failure | None = None
        self.api_unreachable = False

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> ProviderContext:
        client = Client(
            settings.client_id,
            settings.client_secret,
            settings.api_base_url,
            max_attempts=PROVIDER_MAX_ATTEMPTS,
        )
        return cls(client, api_key=settings.api_key)

    def access_failure(self) -> Failure | None:
        """Why the API cannot be used with the configured credentials and URL, if it cannot.

        Asked once per process (a preview checks every resource); the token it fetches is the
        one later calls use.
        """
        with self._access_lock:
            if not self._access_checked:
                self._access_failure = self._check_access()
                self._access_checked = True
            return self._access_failure

    def _check_access(self) -> Failure | None:
        try:
            self.client.authenticate()
        except MissingCredentialsError:
            reason = (
                f"no API credentials: set {CREDENTIALS} (`pulumi config set cortecs:clientId "
                "...` and `pulumi config set --secret cortecs:clientSecret ...`), or the "
                "CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET environment variables"
            )
        except ApiConnectionError as error:
            self.api_unreachable = True
            reason = (
                "the API cannot be reached: cortecs:apiBaseUrl (or CORTECS_API_BASE_URL) is "
                f"{self.client.api_base_url}; {error}"
            )
        except ApiError as error:
            reason = f"{CREDENTIALS} could not be used: {error}"
        else:
            return None
        # Not a property of the resource: the engine shows it as the resource's problem.
        return Failure("", reason)

    def claim(self, instance_id: str) -> None:
        """Mark an instance as owned by a resource of this deployment: never adopt it."""
        with self._claims_lock:
            self._claimed.add(instance_id)

    def obtain(self, args: InstanceArgs, resolved: InstanceArgs, *, adopt: bool) -> Instance:
        """An instance for a new resource: one left behind if ``adopt`` allows, else a new one.

        Adopting and starting happen under one lock, so a concurrent create can never take an
        instance another create of this deployment has just started but not yet claimed.
        """
        with self._claims_lock:
            instance = self._left_behind(resolved) if adopt else None
            if instance is not None:
                pulumi.log.info(
                    f"adopted {instance.instance_id} ({instance.status}) left by an earlier run"
                )
            else:
                instance = self.client.start(args)
                self.journal.record(instance.instance_id, resolved.to_request())
                pulumi.log.info(f"started {instance.instance_id}: {_describe(resolved)}")
            self._claimed.add(instance.instance_id)
        return instance

    def _left_behind(self, resolved: InstanceArgs) -> Instance | None:
        """An instance with these exact arguments that an interrupted create left behind.

        Left behind means: recorded in this project's journal as started but never handed to
        the engine, or still pending (booting; nobody can be using it yet). Running instances
        outside the journal are never taken: they may belong to another stack or team.
        """
        journaled = self.journal.entries()
        for instance in self.client.list_instances():
            if instance.instance_id in self._claimed:
                continue
            if not _same_args(instance.instance_args, resolved):
                continue
            if instance.instance_id in journaled or instance.status == PENDING:
                return instance
        return None


class InstanceLifecycle:
    """Check, diff, create, update, read and delete of ManagedInstance, against the API."""

    def __init__(self, context: ProviderContext) -> None:
        self._context = context

    @classmethod
    def from_config(cls, config: ConfigSource) -> InstanceLifecycle:
        """Built from the stack config the engine passes to ``configure``."""
        return cls(ProviderContext.from_settings(ProviderSettings.from_config(config)))

    # -- preview ---------------------------------------------------------------------------

    def check(self, news: dict[str, Any]) -> CheckResult:
        inputs, failures = parse_inputs(news)
        failed = {f.property for f in failures}
        access = self._context.access_failure()
        if access is not None:
            failures.insert(0, access)
        # An unreachable API is one failure, not one more per catalog question.
        if not self._context.api_unreachable:
            failures += self._check_against_catalog(inputs, failed)
        if inputs.get("readiness_probe") is True and not self._context.api_key:
            failures.append(
                Failure(
                    "readiness_probe",
                    "needs the instances' API key: set it with `pulumi config set --secret "
                    "cortecs:apiKey ...` or OPENAI_API_KEY, or set readiness_probe to false",
                )
            )
        return CheckResult(inputs, [CheckFailure(f.property, f.reason) for f in failures])

    def _check_against_catalog(self, inputs: dict[str, Any], failed: set[str]) -> list[Failure]:
        """Validate what only the catalog knows, and add the price (known at preview)."""
        model_id = inputs.get("model_id")
        if "model_id" in failed or model_id is None or is_unknown(model_id):
            return []
        try:
            model = self._context.catalog.model(model_id)
            hardware_types = self._context.catalog.hardware_types()
        except UnknownModelError as error:
            return [Failure("model_id", f"{error}; `python -m pulumi_cortecs models` lists them")]
        except ApiError as error:
            return [Failure("model_id", f"could not be checked against the catalog: {error}")]

        hardware_id = inputs.get("hardware_type_id")
        if is_unknown(hardware_id):
            return []
        if hardware_id is not None and hardware_id not in model.hardware_configs:
            return [
                Failure(
                    "hardware_type_id",
                    f"{model.hf_name} cannot run on {hardware_id!r}; it runs on "
                    f"{', '.join(model.hardware_configs)}",
                )
            ]
        hardware_id = hardware_id or model.recommended_config
        failures = _check_context_length(inputs.get("context_length"), model, hardware_id)
        hardware = hardware_types.get(hardware_id or "")
        if hardware is not None:
            failures += self._price(inputs, model, hardware)
        return failures

    def _price(
        self, inputs: dict[str, Any], model: ModelPreview, hardware: HardwareType
    ) -> list[Failure]:
        price = hardware.price_info
        inputs["price_per_hour"] = price.price_per_hour
        inputs["currency"] = price.currency
        workers = inputs.get("num_workers") or 1
        if is_unknown(workers):
            return []
        estimate = round(price.price_per_hour * workers, 4)
        inputs["estimated_cost_per_hour"] = estimate
        pulumi.log.info(
            f"{model.hf_name} on {hardware.hardware_type_id} x {workers}: "
            f"{estimate:.2f} {price.currency}/hour"
        )
        limit = inputs.get("max_price_per_hour")
        if isinstance(limit, float) and estimate > limit:
            return [
                Failure(
                    "max_price_per_hour",
                    f"{model.hf_name} on {hardware.hardware_type_id} x {workers} costs "
                    f"{estimate:.2f} {price.currency}/hour, above the limit of {limit:.2f}",
                )
            ]
        return []

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # olds are the previous OUTPUTS: the API's resolved values, not what the user wrote.
        self._context.claim(id_)
        replaces = [name for name in REPLACE_PROPERTIES if _differs(olds.get(name), news.get(name))]
        changes = [name for name in UPDATE_PROPERTIES if _differs(olds.get(name), news.get(name))]
        wants_running = news.get("running", True)
        is_stopped = olds.get("status") == STOPPED
        if (
            "running" not in changes
            and wants_running in (True, False)
            and wants_running == is_stopped
        ):
            changes.append("running")
        return DiffResult(
            changes=bool(replaces or changes),
            replaces=replaces,
            stables=[],
            delete_before_replace=False,
        )

    # -- apply -----------------------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = InstanceInputs.from_props(props)
        context = self._context
        deadline = context.clock() + inputs.wait_timeout_seconds
        args = inputs.instance_args()
        resolved = resolve_defaults(args, context.catalog.model(args.model_id))

        instance = context.obtain(args, resolved, adopt=inputs.adopt_existing)
        instance_id = instance.instance_id
        try:
            if inputs.running:
                instance = self._bring_up(instance, inputs, deadline)
            elif instance.status != STOPPED:
                instance = self._stop(instance_id)
        except BaseException as error:
            raise self._discard_after_failure(instance_id, error) from error
        context.journal.forget(instance_id)
        return CreateResult(instance_id, self._outputs(instance, inputs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = InstanceInputs.from_props(news)
        context = self._context
        context.claim(id_)
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
        # The engine replaces all outputs with what update returns: return every one.
        return UpdateResult(self._outputs(instance, inputs))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        self._context.claim(id_)
        try:
            instance = self._context.client.get_instance(id_)
        except NotFoundError:
            return ReadResult(id_="", outs={})
        return ReadResult(id_, self._outputs(instance, InstanceInputs.from_props(props)))

    def delete(self, id_: str) -> None:
        try:
            if self._context.client.get_instance(id_).status != STOPPED:
                self._stop(id_)
            self._context.client.delete(id_)
            pulumi.log.info(f"deleted {id_}")
        except NotFoundError:
            pass
        self._context.journal.forget(id_)

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
                    "OPENAI_API_KEY) or no base_url"
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

    def _discard_after_failure(self, instance_id: str, error: BaseException) -> ProvisioningError:
        """Stop and delete an instance whose create failed, so nothing keeps billing."""
        try:
            self.delete(instance_id)
            fate = "It was stopped and deleted, so nothing is billed."
        except Exception as cleanup_error:
            fate = (
                f"Deleting it failed too ({cleanup_error}); it stays recorded in "
                f"{self._context.journal.path}, so the next `pulumi up` adopts it."
            )
        return ProvisioningError(f"{instance_id} did not become ready: {error}. {fate}")

    def _outputs(self, instance: Instance, inputs: InstanceInputs) -> dict[str, Any]:
        args = instance.instance_args
        hardware = (
            self._context.catalog.hardware(args.hardware_type_id) if args.hardware_type_id else None
        )
        workers = args.num_workers or inputs.num_workers or 1
        price = hardware.price_info if hardware else None
        started_at = instance.instance_status.started_at
        return {
            **inputs.to_props(),
            "model_id": args.model_id,
            "hardware_type_id": args.hardware_type_id,
            "context_length": args.context_length,
            "billing_interval": args.billing_interval,
            "num_workers": workers,
            "instance_id": instance.instance_id,
            "base_url": instance.base_url,
            "status": instance.status,
            "model_name": instance.hf_name,
            "started_at": started_at.isoformat() if started_at else None,
            "price_per_hour": price.price_per_hour if price else None,
            "currency": price.currency if price else None,
            "estimated_cost_per_hour": round(price.price_per_hour * workers, 4) if price else None,
            "chat_openai_args": instance.chat_openai_config(**inputs.chat_openai_kwargs),
        }


def _check_context_length(
    context_length: Any, model: ModelPreview, hardware_id: str | None
) -> list[Failure]:
    maximum = model.max_context_lengths.get(hardware_id or "")
    if isinstance(context_length, int) and maximum is not None and context_length > maximum:
        return [
            Failure(
                "context_length",
                f"{context_length} is above the maximum of {maximum} for {model.hf_name} on "
                f"{hardware_id}; use at most {maximum}"
                + _larger_hardware_hint(model, context_length),
            )
        ]
    return []


def _larger_hardware_hint(model: ModelPreview, context_length: int) -> str:
    larger = [hw for hw, maximum in model.max_context_lengths.items() if maximum >= context_length]
    return f", or hardware that allows it: {', '.join(larger)}" if larger else ""


def _differs(old: Any, new: Any) -> bool:
    """Whether a declared input differs from the previous output it produced.

    An input left unset (None) never differs: the API chose the value and still holds it.
    """
    if new is None:
        return False
    if is_unknown(new):
        return True
    if isinstance(new, float) and isinstance(old, int | float) and not isinstance(old, bool):
        return float(old) != new
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        return dict(old) != dict(new)
    return bool(old != new)


def _same_args(actual: InstanceArgs, wanted: InstanceArgs) -> bool:
    return (
        actual.model_id == wanted.model_id
        and actual.hardware_type_id == wanted.hardware_type_id
        and actual.context_length == wanted.context_length
        and actual.billing_interval == wanted.billing_interval
        and (actual.num_workers or 1) == wanted.num_workers
    )


def _describe(args: InstanceArgs) -> str:
    return (
        f"{args.hf_name} on {args.hardware_type_id} x {args.num_workers}, "
        f"context {args.context_length}, billed {args.billing_interval}"
    )


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
