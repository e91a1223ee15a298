"""An instance for a job: checked like a preview, started, ready once it answers, used, then
stopped and deleted whatever happens (an error, Ctrl-C, SIGTERM, SIGHUP).

cortecs.ai's own pattern for evaluations, batch inference and CI checks of a prompt. This is
the one code path behind ``cortecs-instances run MODEL -- CMD`` and Python's
``with job_instance(MODEL) as job:``, and it runs the resource's own lifecycle
(:class:`~pulumi_cortecs.resource._lifecycle.InstanceLifecycle`): the same checks as a
preview, the start written ahead in the journal under an owner unique to the run, the same
wait and readiness probe, and the same stop and delete, which also clean up after a start
that never became ready.

Every job's instance is leased (:mod:`pulumi_cortecs._leases`) with the action delete, for
:data:`DEFAULT_AUTO_STOP_AFTER` unless told otherwise, from the moment the start's answer names
it (a boot lease, counted from the start, renewed from the moment it is ready): after a
``kill -9``, even during the boot, nothing runs a ``finally``, and ``cortecs-instances reap`` (a
cron, a scheduled workflow), from any machine that shares the journal, deletes the instance once
the lease runs out, so a job never bills forever.
This module loads Pulumi's SDK (through the lifecycle) only when a job starts: the CLI's other
commands never need it.
"""

from __future__ import annotations

import functools
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_cortecs import _signals
from pulumi_cortecs._command import command
from pulumi_cortecs._exceptions import CortecsError
from pulumi_cortecs._journal import Journal
from pulumi_cortecs._leases import DELETE
from pulumi_cortecs._owner import Owner
from pulumi_cortecs._rules import Duration, duration_seconds
from pulumi_cortecs._store import open_store
from pulumi_cortecs.api._auth import Secret
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import Instance

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

    from pulumi_cortecs.resource._context import ProviderContext
    from pulumi_cortecs.resource._inputs import Failure
    from pulumi_cortecs.resource._lifecycle import InstanceLifecycle

DEFAULT_AUTO_STOP_AFTER = "2h"
"""How long a job's instance is leased unless told otherwise: long enough for an evaluation
or a batch, short enough that a job killed with ``kill -9`` (or hung) bills hours, not days."""
DEFAULT_WAIT_TIMEOUT = "30m"
"""How long a job waits for its instance to be ready (a resource's ``wait_timeout_seconds``)."""


class JobRefused(CortecsError):
    """The job's arguments failed the checks a preview makes (unknown model, hardware or
    context length, a price above the budget, no API key): nothing was started."""

    def __init__(self, failures: list[Failure]) -> None:
        super().__init__("; ".join(f"{f.property}: {f.reason}" for f in failures))
        self.failures = failures


def run_owner(kind: str) -> Owner:
    """An owner no other run shares, that says what started it, where and when:
    ``run:cli/<host>/<UTC time>-<pid>-<random>``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return Owner(
        f"run:{kind}", socket.gethostname(), f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    )


@dataclass(frozen=True)
class JobInstance:
    """A running instance that answered a chat completion, for the length of a job."""

    instance: Instance
    api_key: Secret = field(repr=False)
    """The instances' API key (``CORTECS_API_KEY``), what a job's OpenAI client sends."""

    @property
    def instance_id(self) -> str:
        return self.instance.instance_id

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible endpoint (``…/v1``)."""
        assert self.instance.base_url is not None  # a running instance has one
        return self.instance.base_url

    @property
    def model_name(self) -> str:
        """What the endpoint expects as ``model``: the Hugging Face name."""
        return self.instance.hf_name

    def environment(self) -> dict[str, str]:
        """The variables OpenAI clients (and LangChain's) read, pointing at this instance,
        and ``CORTECS_INSTANCE_ID``: what ``run`` adds to its command's environment."""
        return {
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_BASE": self.base_url,
            "OPENAI_API_KEY": self.api_key.reveal(),
            "OPENAI_MODEL": self.model_name,
            "CORTECS_INSTANCE_ID": self.instance_id,
        }

    @functools.cached_property
    def chat_model(self) -> ChatOpenAI:
        """LangChain's ``ChatOpenAI`` for this instance (needs the ``langchain`` extra)."""
        from pulumi_cortecs.langchain import chat_model

        return chat_model(self.instance, api_key=self.api_key.reveal())


@contextmanager
def job_instance(
    model_id: str,
    *,
    hardware_type_id: str | None = None,
    context_length: int | None = None,
    num_workers: int | None = None,
    billing_interval: str | None = None,
    max_price_per_hour: float | None = None,
    auto_stop_after: str = DEFAULT_AUTO_STOP_AFTER,
    wait_timeout: str = DEFAULT_WAIT_TIMEOUT,
    keep: bool = False,
    client: Client | None = None,
    api_key: str | None = None,
    journal: str | Path | None = None,
    owner: Owner | None = None,
    on_progress: Callable[[Instance], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[JobInstance]:
    """Start an instance of ``model_id`` for the block, and stop and delete it after the block,
    also when it raises, on Ctrl-C, SIGTERM and SIGHUP (``keep=True`` leaves it running).
    Its lease runs out ``auto_stop_after`` after it is ready (``"90s"``, ``"45m"``, ``"8h"``,
    ``"2d"``): then ``cortecs-instances reap`` deletes it, if nothing did before. While it
    boots (for at most ``wait_timeout``, then it is deleted), its lease runs out
    ``auto_stop_after`` after the start, or when the wait gives up if that is later: a job
    killed during the boot leaves a lease too.

    The arguments are a ManagedInstance's inputs and are checked as a preview checks them,
    before anything starts (:class:`JobRefused` names each one that fails, e.g. a price per
    hour × workers above ``max_price_per_hour``). The block gets the instance once it runs and
    answered a chat completion. ``client`` defaults to one built from the ``CORTECS_*``
    environment, ``api_key`` to ``CORTECS_API_KEY``, ``journal`` (a directory, or an
    ``s3://BUCKET/PREFIX`` URL) to ``CORTECS_JOURNAL_URL``, else ``CORTECS_JOURNAL_DIR``, else the
    per-user default; ``owner`` to a name unique to this run. ``on_progress`` is
    told each status and step of the boot. Progress is logged as Pulumi's messages are
    (``info: ...`` on stderr). Signals are handled only when called from the main thread.
    """
    # The lifecycle brings Pulumi's SDK along: loaded when a job starts, not with the CLI.
    from pulumi_cortecs.resource._context import (
        PROVIDER_MAX_ATTEMPTS,
        PROVIDER_POLL_POLICY,
        ProviderContext,
    )
    from pulumi_cortecs.resource._inputs import Failure
    from pulumi_cortecs.resource._lifecycle import InstanceLifecycle
    from pulumi_cortecs.resource._settings import ProviderSettings

    inputs: dict[str, Any] = {
        "model_id": model_id,
        "hardware_type_id": hardware_type_id,
        "context_length": context_length,
        "num_workers": num_workers,
        "billing_interval": billing_interval,
        "max_price_per_hour": max_price_per_hour,
        "auto_stop_after": auto_stop_after,
    }
    try:
        inputs["wait_timeout_seconds"] = duration_seconds(Duration().parse(wait_timeout))
    except ValueError as error:
        raise JobRefused([Failure("wait_timeout", str(error))]) from None
    environment = ProviderSettings.from_config({})  # the CORTECS_* variables
    # As for a provider: a shared journal (CORTECS_JOURNAL_URL), once configured, wins.
    location = _text(journal) or environment.journal_url or environment.journal_dir
    owned_client = client is None
    context = ProviderContext(
        client
        or Client(
            max_attempts=PROVIDER_MAX_ATTEMPTS, poll_policy=PROVIDER_POLL_POLICY, sleep=sleep
        ),
        api_key=api_key or environment.api_key,
        journal=Journal(open_store(location)),  # its leases too
        sleep=sleep,
        on_progress=on_progress,
    )
    try:
        with _signals.raising():
            yield from _lifetime(
                InstanceLifecycle(context, lease_action=DELETE),
                context,
                inputs,
                owner or run_owner("python"),
                keep=keep,
            )
    finally:
        context.probe_http.close()
        if owned_client:
            context.client.close()


def _lifetime(
    lifecycle: InstanceLifecycle,
    context: ProviderContext,
    inputs: Mapping[str, Any],
    owner: Owner,
    *,
    keep: bool,
) -> Iterator[JobInstance]:
    from pulumi_cortecs.resource._lifecycle import still_tearing_down
    from pulumi_cortecs.resource._reporting import EngineLog

    # No engine to show messages under a resource: they go to stderr, as a provider's would.
    report = EngineLog("").reporter("")

    checked = lifecycle.check({k: v for k, v in inputs.items() if v is not None}, report=report)
    if checked.failures:
        raise JobRefused(checked.failures)
    props = {**checked.inputs, "owner": str(owner)}
    # Starts (written ahead under `owner`, leased with the action delete once the start is
    # answered), waits, probes and renews the lease; an instance that does not come up, whatever
    # the reason (a signal included), is stopped and deleted before this raises.
    instance_id, outputs = lifecycle.create(props, report=report)
    try:
        instance = context.client.get_instance(instance_id)
        # The lease is the record from now on: `reap` deletes the instance after a kill -9,
        # and no `pulumi up` will ever come to adopt a journal record of a job.
        lifecycle.hand_over(instance_id, props)
        report.info(
            f"{instance_id}: deleted at {outputs['stops_at']} at the latest by "
            f"{command('reap')} (lease in {context.leases.where(instance_id)})"
        )
        assert context.api_key is not None  # the check refuses a job without one
        yield JobInstance(instance, Secret(context.api_key))
    finally:
        with _signals.deferred(still_tearing_down(instance_id, report)):
            if keep:
                report.info(
                    f"kept {instance_id} running: {command(f'delete {instance_id}')} stops "
                    "and deletes it, else `reap` once its lease runs out"
                )
            else:
                lifecycle.delete(
                    instance_id, props, report=report
                )  # says what it cost, and revokes the lease


def _text(path: str | Path | None) -> str | None:
    return None if path is None else str(path)
