"""The fake API's state and rules, in its own terms: typed arguments in, domain objects out.

Nothing here sees HTTP (as a moto backend never does): the responses layer
(:mod:`~pulumi_cortecs.testing.fake._responses`) parses a request, calls a rule here and renders
what it returns; a rule that refuses raises a :mod:`~pulumi_cortecs.testing.fake._exceptions`
error, never a status. Everything runs under one re-entrant lock, because the HTTP server is
threaded and a Pulumi provider calls from several threads. Time comes only from the injected
clock, so a :class:`ManualClock` makes lifecycles deterministic.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_cortecs.testing.fake._clock import ManualClock
from pulumi_cortecs.testing.fake._constants import (
    BILLING_INTERVALS,
    DEFAULT_BILLING_INTERVAL,
    DEFAULT_MAX_CONTEXT_LENGTH,
    MAX_WORKERS,
    MIN_WORKERS,
    PENDING,
    RUNNING,
    STOPPED,
)
from pulumi_cortecs.testing.fake._exceptions import (
    BadCredentials,
    InvalidRequest,
    InvalidState,
    NotFound,
)
from pulumi_cortecs.testing.fake._faults import Faults
from pulumi_cortecs.testing.fake._instances import FakeInstance, RunningAt, Schedule
from pulumi_cortecs.testing.fake._settings import (
    BY_NAME,
    ApiEra,
    ResponseShape,
    defaults,
)
from pulumi_cortecs.testing.fake._tokens import TokenStore
from pulumi_cortecs.testing.fake.catalog import AVAILABLE_HARDWARE_TYPE_IDS, HARDWARE_TYPES, MODELS


class FakeBackend:
    """A stateful stand-in for the cortecs.ai instance API and the instances it runs.

    Public state is for assertions: ``instances`` (not deleted), ``deleted_ids``, ``calls``
    (method and path, trailing slash removed, of every request but admin ones),
    ``token_fetches`` (tokens issued), ``starts`` (instances created) and ``faults``.

    ``api_era`` (``today`` or ``seed``) and ``response_shape`` (``newer`` or ``older``) choose
    what the answers look like (see :mod:`~pulumi_cortecs.testing.fake._shapes`); the rules are
    the same in every era.

    ``sleep`` defaults to ``clock.advance`` for a :class:`ManualClock` (so injected latency
    passes instantly in fake time) and to ``time.sleep`` otherwise.
    """

    # The settings (see _settings), set by __init__ and configure.
    step_seconds: float | tuple[float, ...]
    num_steps: int
    running_at: RunningAt
    instant_models: bool
    ingress_errors: tuple[int, ...]
    serving_delay: float
    token_ttl: float
    api_era: ApiEra
    response_shape: ResponseShape
    api_key: str
    client_id: str
    client_secret: str

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        seed: int = 0,
        **settings: Any,
    ) -> None:
        """``settings`` as :meth:`configure` takes them; the others at their defaults."""
        self.clock = clock
        if sleep is None:
            sleep = clock.advance if isinstance(clock, ManualClock) else time.sleep
        self.sleep = sleep
        self.faults = Faults()
        self.instances: dict[str, FakeInstance] = {}
        self.deleted_ids: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.token_fetches = 0
        self.starts = 0
        self.serve_requests = 0
        """Requests the instances' own endpoints (``/serve/...``) have answered."""
        self.lock = threading.RLock()
        """Held while one request is answered, so an answer is one consistent moment."""
        self._tokens = TokenStore(seed)
        self._instance_numbers = iter(range(1, 1 << 62))
        self._models = {model["model_id"]: model for model in MODELS}
        vars(self).update(defaults())
        self.configure(**settings)

    # -- tokens ----------------------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> str:
        """A new token for these credentials; :class:`BadCredentials` if they are wrong."""
        with self.lock:
            if not (
                hmac.compare_digest(client_id, self.client_id)
                and hmac.compare_digest(client_secret, self.client_secret)
            ):
                raise BadCredentials("invalid client credentials")
            self.token_fetches += 1
            return self._tokens.issue(self.clock())

    def authenticate(self, token: str | None) -> None:
        """Accept a live token; :class:`BadToken` for none, an unknown or an expired one."""
        with self.lock:
            self._tokens.check(token, self.clock(), self.token_ttl)

    def expire_tokens(self) -> None:
        """Make every issued token invalid, as if they had all reached their TTL."""
        with self.lock:
            self._tokens.expire_all()

    # -- catalog ---------------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        """The catalog's models (see :mod:`~pulumi_cortecs.testing.fake.catalog`)."""
        return list(MODELS)

    def model(self, model_id: str) -> dict[str, Any]:
        model = self._models.get(model_id)
        if model is None:
            raise NotFound.model(model_id)
        return model

    def hardware_types(self, *, available_only: bool = False) -> list[dict[str, Any]]:
        if not available_only:
            return list(HARDWARE_TYPES)
        available = AVAILABLE_HARDWARE_TYPE_IDS
        return [hw for hw in HARDWARE_TYPES if hw["hardware_type_id"] in available]

    # -- instances -------------------------------------------------------------------------

    def start(
        self,
        *,
        model_id: str,
        hardware_type_id: str | None = None,
        context_length: int | None = None,
        billing_interval: str | None = None,
        num_workers: int | None = None,
    ) -> FakeInstance:
        """Start a new instance (billed on every call); ``None`` means the API's default.

        Every refusal names the field and what would have been accepted, so a client's error
        message can tell the user how to fix the call.
        """
        with self.lock:
            args = self._resolve_start_args(
                model_id, hardware_type_id, context_length, billing_interval, num_workers
            )
            instance = FakeInstance(
                instance_id=f"instance-{next(self._instance_numbers)}",
                args=args,
                launched_at=self.clock(),
                schedule=self._schedule(model_id),
            )
            self.instances[instance.instance_id] = instance
            self.starts += 1
            return instance

    def _schedule(self, model_id: Any) -> Schedule:
        """How an instance of ``model_id`` launched now initialises, as configured."""
        model = self._models.get(model_id) if isinstance(model_id, str) else None
        if self.instant_models and model is not None and model.get("instant_provisioned"):
            return Schedule((0.0,) * self.num_steps, self.running_at)
        return Schedule.of(self.step_seconds, self.num_steps, self.running_at)

    def _resolve_start_args(
        self,
        model_id: str,
        hardware_type_id: str | None,
        context_length: int | None,
        billing_interval: str | None,
        num_workers: int | None,
    ) -> dict[str, Any]:
        if not model_id:
            raise InvalidRequest("model_id is required and must be a string")
        model = self._models.get(model_id)
        if model is None:
            known = ", ".join(self._models)
            raise InvalidRequest(
                f"model_id {model_id!r} is not a known model; known models: {known}"
            )
        max_lengths: dict[str, int] = model["hardware_configs"]
        hardware = hardware_type_id if hardware_type_id is not None else model["recommended_config"]
        if hardware not in max_lengths:
            raise InvalidRequest(
                f"hardware_type_id {hardware!r} cannot run model {model_id}; "
                f"allowed: {', '.join(max_lengths)}"
            )
        max_length = max_lengths[hardware]
        if context_length is None:
            context_length = min(DEFAULT_MAX_CONTEXT_LENGTH, max_length)
        elif context_length <= 0:
            raise InvalidRequest("context_length must be a positive integer")
        elif context_length > max_length:
            raise InvalidRequest(
                f"context_length {context_length} exceeds the maximum of {max_length} "
                f"for model {model_id} on {hardware}"
            )
        if billing_interval is None:
            billing_interval = DEFAULT_BILLING_INTERVAL
        elif billing_interval not in BILLING_INTERVALS:
            raise InvalidRequest(f"billing_interval must be one of {', '.join(BILLING_INTERVALS)}")
        if num_workers is None:
            num_workers = MIN_WORKERS
        elif not MIN_WORKERS <= num_workers <= MAX_WORKERS:
            raise InvalidRequest(
                f"num_workers must be an integer from {MIN_WORKERS} to {MAX_WORKERS}"
            )
        return {
            "model_id": model_id,
            "hardware_type_id": hardware,
            "context_length": context_length,
            "billing_interval": billing_interval,
            "num_workers": num_workers,
        }

    def list_instances(self) -> list[FakeInstance]:
        with self.lock:
            return list(self.instances.values())

    def get_instance(self, instance_id: str) -> FakeInstance:
        with self.lock:
            instance = self.instances.get(instance_id)
            if instance is None:
                raise NotFound.instance(instance_id)
            return instance

    def stop(self, instance_id: str) -> tuple[FakeInstance, bool]:
        """Stop an instance; also says whether it was running or pending until now."""
        with self.lock:
            instance = self.get_instance(instance_id)
            if instance.status(self.clock()) == STOPPED:
                return instance, False
            instance.stop(self.clock())
            return instance, True

    def restart(self, instance_id: str) -> FakeInstance:
        """Send a stopped instance back to pending, from step 1."""
        with self.lock:
            instance = self.get_instance(instance_id)
            status = instance.status(self.clock())
            if status != STOPPED:
                raise InvalidState(
                    f"instance {instance_id} is {status}; only a stopped one restarts"
                )
            instance.relaunch(self.clock(), self._schedule(instance.args.get("model_id")))
            return instance

    def delete(self, instance_id: str) -> None:
        """Delete a stopped instance."""
        with self.lock:
            instance = self.get_instance(instance_id)
            status = instance.status(self.clock())
            if status != STOPPED:
                raise InvalidState(f"instance {instance_id} is {status}; stop it before deleting")
            self._remove(instance_id)

    def stop_all(self) -> list[str]:
        """Stop every instance not stopped yet; their ids."""
        with self.lock:
            now = self.clock()
            stopped = [i for i in self.instances.values() if i.status(now) != STOPPED]
            for instance in stopped:
                instance.stop(now)
            return [i.instance_id for i in stopped]

    def delete_all(self, *, force: bool) -> list[str]:
        """Delete every stopped instance, or with ``force`` every instance; their ids."""
        with self.lock:
            now = self.clock()
            doomed = [
                i.instance_id for i in self.instances.values() if force or i.status(now) == STOPPED
            ]
            for instance_id in doomed:
                self.instances[instance_id].stop(now)
                self._remove(instance_id)
            return doomed

    def _remove(self, instance_id: str) -> None:
        del self.instances[instance_id]
        self.deleted_ids.add(instance_id)

    # -- out-of-band control, for tests and the admin endpoints ----------------------------

    def stop_instance(self, instance_id: str) -> None:
        """Stop an instance behind the client's back (e.g. to model drift); KeyError if unknown."""
        with self.lock:
            self.instances[instance_id].stop(self.clock())

    def delete_instance(self, instance_id: str) -> None:
        """Stop (if needed) and delete an instance behind the client's back; KeyError if unknown."""
        with self.lock:
            self.instances[instance_id].stop(self.clock())
            self._remove(instance_id)

    def add_foreign_instance(
        self,
        instance_args: Mapping[str, Any],
        *,
        status: str = RUNNING,
        extra: Mapping[str, Any] | None = None,
    ) -> FakeInstance:
        """Add an instance someone else started (another team, the web console), as it is.

        Nothing is checked but its ``model_id``, so it can hold what this project's client would
        never send: ``num_workers: 12``, ``billing_interval: "per_second"``, unknown hardware,
        fields of its own. ``status``: ``running`` (its initialisation just ended), ``pending``
        (just launched) or ``stopped``. ``extra`` fields are added to its API object. Once
        added, the API treats it like any other instance (it can be stopped, deleted...).
        """
        model_id = instance_args.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            raise ValueError("instance_args needs a model_id")
        if status not in (PENDING, RUNNING, STOPPED):
            raise ValueError(f"status must be {PENDING}, {RUNNING} or {STOPPED}")
        with self.lock:
            now = self.clock()
            schedule = self._schedule(model_id)
            launched_at = now if status == PENDING else now - schedule.running_after
            instance = FakeInstance(
                instance_id=f"instance-{next(self._instance_numbers)}",
                args=dict(instance_args),
                launched_at=launched_at,
                schedule=schedule,
                stopped_at=now if status == STOPPED else None,
                extra=dict(extra or {}),
            )
            self.instances[instance.instance_id] = instance
            return instance

    def configure(self, **settings: Any) -> None:
        """Change settings at runtime (any of :data:`~._settings.SETTINGS`, which says what
        each does). Instances already launched keep their init schedule; tokens already issued
        stay valid. ``step_seconds`` as a list of one length per step also sets ``num_steps``."""
        for name, value in settings.items():
            if name not in BY_NAME:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(BY_NAME)}")
            if not BY_NAME[name].valid(value):
                raise ValueError(f"invalid value for {name}")
        steps = settings.get("step_seconds", self.step_seconds)
        if isinstance(steps, list | tuple):
            steps = tuple(float(s) for s in steps)
            if settings.get("num_steps", len(steps)) != len(steps):
                raise ValueError(f"num_steps must be {len(steps)}: step_seconds lists that many")
            settings = {**settings, "step_seconds": steps, "num_steps": len(steps)}
        if "ingress_errors" in settings:
            settings["ingress_errors"] = tuple(settings["ingress_errors"])
        with self.lock:
            for name, value in settings.items():
                setattr(self, name, value)

    def reset(self) -> None:
        """Forget all instances, calls, counters and faults; settings and tokens stay.

        Instance numbers keep counting, so an id from before a reset is never handed out again.
        """
        with self.lock:
            self.instances.clear()
            self.deleted_ids.clear()
            self.calls.clear()
            self.token_fetches = 0
            self.starts = 0
            self.faults.clear()
            self.faults.reset_counts()

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-able data, for assertions from another process."""
        with self.lock:
            now = self.clock()
            return {
                "now": now,
                "instances": [i.summary(now) for i in self.instances.values()],
                "deleted_ids": sorted(self.deleted_ids),
                "starts": self.starts,
                "token_fetches": self.token_fetches,
                "calls": [list(call) for call in self.calls],
                "faults_injected": self.faults.counts(),
            }
