"""What an instance costs: the one place the hardware's price, the workers and the billing
interval are turned into money.

An instance costs its hardware's price per hour times its workers while it is not stopped.
The API bills by the interval it was started with: ``per_minute`` counts every started minute,
``per_hour`` every started hour, so 61 seconds are two minutes, or one hour. Amounts are
rounded once, here, to :data:`DECIMALS` places.

Nothing here imports Pulumi, httpx or pydantic: the schema's neighbours and the CLI use it.
"""

from __future__ import annotations

import math

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
