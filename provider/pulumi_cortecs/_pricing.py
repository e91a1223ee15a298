"""What an instance costs: the one place the hardware's price, the workers and the billing
interval are turned into money.

An instance costs its hardware's price per hour times its workers while it is not stopped.
The API bills by the interval it was started with: ``per_minute`` counts every started minute,
``per_hour`` every started hour, so 61 seconds are two minutes, or one hour. Amounts are
rounded once, here, to :data:`DECIMALS` places.

Nothing here imports Pulumi, httpx or pydantic: the schema imports it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulumi_cortecs.api._models import Instance, PriceInfo

DECIMALS = 6
PER_MINUTE, PER_HOUR = "per_minute", "per_hour"
_INTERVAL_SECONDS = {PER_MINUTE: 60, PER_HOUR: 3600}
DEFAULT_INTERVAL = PER_MINUTE
"""What the API bills by when a start does not say (and what an unknown interval counts as)."""


def cost_per_hour(price_per_hour: float, workers: int | None) -> float:
    """What the instance costs per hour while it is not stopped: price times workers (one
    worker when the API does not say)."""
    return round(_per_hour(price_per_hour, workers), DECIMALS)


def billed_seconds(seconds: float, billing_interval: str | None) -> int:
    """``seconds`` of running, as billed: rounded up to whole billing intervals."""
    interval = _INTERVAL_SECONDS.get(billing_interval or DEFAULT_INTERVAL, 60)
    return math.ceil(max(seconds, 0.0) / interval) * interval


def cost_of(
    seconds: float, price_per_hour: float, workers: int | None, billing_interval: str | None
) -> float:
    """What ``seconds`` of running cost, every started billing interval counted."""
    hours = billed_seconds(seconds, billing_interval) / 3600
    return round(_per_hour(price_per_hour, workers) * hours, DECIMALS)


def _per_hour(price_per_hour: float, workers: int | None) -> float:
    return price_per_hour * max(workers or 1, 1)


def total(amounts: Iterable[float | None]) -> float:
    """The sum of the amounts known, rounded like each of them."""
    return round(sum(amount for amount in amounts if amount is not None), DECIMALS)


def cost_since_start(instance: Instance, price: PriceInfo | None, now: datetime) -> float | None:
    """What the instance has cost since it last started: until it stopped, or until ``now``;
    ``None`` when its price or its start time is unknown."""
    status = instance.instance_status
    if price is None or status.started_at is None:
        return None
    started = _aware(status.started_at)
    stopped = _aware(status.stopped_at) if status.stopped_at else None
    # A stop before the last start is the previous run's.
    until = stopped if stopped is not None and stopped >= started else now
    seconds = (until - started).total_seconds()
    args = instance.instance_args
    return cost_of(seconds, price.price_per_hour, args.num_workers, args.billing_interval)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
