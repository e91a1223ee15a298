"""The journal in S3: sixteen creates (probe off) through ONE provider process while every API
call takes 200 ms, with the journal in an S3 bucket (moto's server over HTTP on this machine,
so each journal write costs a local round trip, not a cloud one) against the same creates with
the journal in a directory, same run: seconds until the fake holds all sixteen starts, and
until every create has returned. One create goes first, alone: the first use of the journal in
S3 imports boto3 and builds its client, once per provider process.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from pulumi_cortecs.testing.engine import ProviderProcess
from pulumi_cortecs.testing.processes import FakeApiProcess, provider_env, start_fake_api
from pulumi_cortecs.testing.s3 import S3Server

from ._common import Row, creating, until
from .starts import API_LATENCY, PARALLEL, declared_creates


def _measure(
    fake: FakeApiProcess, env: dict[str, str], declared: dict[str, dict[str, Any]]
) -> tuple[float, float, float]:
    """Seconds for the first create alone, then, for the next sixteen at once, until all their
    starts were sent and until all returned."""
    provider = ProviderProcess(env=env)
    try:
        provider.configure(fake.stack_config())
        first, *checked = [provider.check(news)[0] for news in declared.values()]
        fake.reset()
        fake.faults(latency=API_LATENCY)
        began = time.monotonic()
        provider.create(first)
        alone = time.monotonic() - began
        with creating(provider.create, checked) as began:
            sent = until(lambda: fake.state()["starts"] >= len(checked) + 1, began)
        return alone, sent, time.monotonic() - began
    finally:
        provider.close()


def run() -> list[Row]:
    declared = declared_creates()
    with (
        start_fake_api("--step-seconds", "0.05") as fake,
        S3Server() as s3,
        tempfile.TemporaryDirectory() as home,
    ):
        aws = s3.aws_environment()
        directory = _measure(fake, provider_env(Path(home), **aws), declared)
        bucket = _measure(fake, provider_env(Path(home), s3.new_journal(), **aws), declared)
    name = f"8. journal in S3 vs a directory, {PARALLEL} creates, API latency 200 ms"
    return [
        Row(name, "first create, alone", bucket[0], directory[0], "s", "", None),
        Row(name, f"then all {PARALLEL} starts sent", bucket[1], directory[1], "s", "", None),
        Row(name, f"then all {PARALLEL} creates returned", bucket[2], directory[2], "s", "", None),
    ]
