"""The leaky bucket of query cost per caller (Shopify's): pure arithmetic over plain numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketLimits:
    """A bucket holds at most `maximum` cost and refills by `restore_rate` per second."""

    maximum: float
    restore_rate: float


def refilled(available: float, elapsed_seconds: float, limits: BucketLimits) -> float:
    """What a bucket holding `available` holds `elapsed_seconds` later (a clock going back refills nothing)."""
    return min(limits.maximum, available + limits.restore_rate * max(0.0, elapsed_seconds))


def seconds_until(needed: float, available: float, limits: BucketLimits) -> int:
    """Whole seconds until a bucket holding `available` can pay `needed`: 0 when it can now, else at least 1."""
    if needed <= available:
        return 0
    return max(1, math.ceil((needed - available) / limits.restore_rate))
