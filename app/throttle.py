"""A cost budget per caller (tenant, token subject): Shopify's leaky bucket, shared by every server process.

The bucket lives in PostgreSQL (persistence/throttle.py). Each process leases a slice of a caller's bucket
(`lease` cost, or what one request needs when that is more) and spends it in memory, going back to PostgreSQL
only when the slice cannot pay a request (and not while the row, as last seen and refilled since, could not
pay it either: a throttled caller's retries cost no round trip); what a request did not use is refunded to the slice, and a slice
grown past `lease` returns the excess. While a slice sits in a process the shared row refills as if it had
been spent, so with N processes a caller can be granted at most N x `lease` more than one bucket would grant.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.rules.throttle import BucketLimits, refilled, seconds_until
from app.settings import Settings
from persistence import throttle as store

log = logging.getLogger("producer_graph.throttle")

THROTTLED = "THROTTLED"
MAX_CALLERS = 10_000  # slices kept per process; the least recently used is dropped (its cost is lost, not granted)


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    subject: str


@dataclass(frozen=True)
class Charge:
    """The answer to a request's cost: paid or not, what the caller has left, when to retry."""

    paid: bool
    currently_available: float
    retry_after: int = 0  # whole seconds until the bucket can pay the request; 0 when paid


@dataclass
class _Slice:
    balance: float = 0.0  # leased and not yet spent, in this process
    shared: float = 0.0  # what the shared bucket held after this process's last lease...
    shared_at: float = 0.0  # ...at this time.monotonic()
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Throttle:
    """This process's slices of the callers' buckets."""

    def __init__(self, limits: BucketLimits, lease: float) -> None:
        self.limits = limits
        self.lease = lease
        self.sessions: async_sessionmaker[AsyncSession] | None = None
        self._slices: OrderedDict[Caller, _Slice] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle | None:
        if not settings.throttle_enabled:
            return None
        return cls(BucketLimits(settings.throttle_maximum_available, settings.throttle_restore_rate),
                   settings.throttle_lease)

    def bind(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def charge(self, caller: Caller, cost: float) -> Charge:
        """Takes `cost` from the caller's budget, or nothing when it cannot pay it all."""
        slice_ = self._slice(caller)
        if slice_.balance >= cost:  # the common case: no await, so no other request interleaves
            slice_.balance -= cost
            return Charge(True, self._available(slice_))
        async with slice_.lock:
            if slice_.balance < cost:
                need = cost - slice_.balance
                shared = refilled(slice_.shared, time.monotonic() - slice_.shared_at, self.limits)
                if shared < need:  # the row held less when last seen, and only refills: refused without asking
                    return Charge(False, self._available(slice_), seconds_until(need, shared, self.limits))
                leased = await self._lease(caller, slice_, need=need, want=max(need, self.lease))
                if leased.granted == 0:
                    return Charge(False, self._available(slice_), seconds_until(need, leased.level, self.limits))
                slice_.balance += leased.granted
            slice_.balance -= cost
            return Charge(True, self._available(slice_))

    async def refund(self, caller: Caller, amount: float) -> float:
        """Gives back what a request did not use; returns what the caller has available now."""
        slice_ = self._slice(caller)
        slice_.balance += max(0.0, amount)
        if slice_.balance > self.lease:  # a slice never holds more than `lease` at rest: that bounds the excess
            async with slice_.lock:
                excess = slice_.balance - self.lease
                if excess > 0:
                    slice_.balance -= excess
                    try:
                        await self._lease(caller, slice_, need=0.0, want=0.0, returned=excess)
                    except Exception as exc:  # noqa: BLE001 - the request has run: its answer must not fail
                        slice_.balance += excess  # kept here until a later refund returns it
                        log.warning("throttle refund not returned (%s); kept in this process", type(exc).__name__)
        return self._available(slice_)

    def available(self, caller: Caller) -> float:
        return self._available(self._slice(caller))

    async def _lease(self, caller: Caller, slice_: _Slice, *, need: float, want: float,
                     returned: float = 0.0) -> store.Lease:
        if self.sessions is None:
            raise RuntimeError("the throttle is not bound to the database yet")
        async with self.sessions() as session, session.begin():
            leased = await store.lease(session, caller.tenant_id, caller.subject, maximum=self.limits.maximum,
                                       restore_rate=self.limits.restore_rate, need=need, want=want,
                                       returned=returned)
        slice_.shared, slice_.shared_at = leased.level - leased.granted, time.monotonic()
        return leased

    def _available(self, slice_: _Slice) -> float:
        """The shared bucket as last seen, refilled since, plus this process's slice (other processes' unseen)."""
        shared = refilled(slice_.shared, time.monotonic() - slice_.shared_at, self.limits)
        return min(self.limits.maximum, shared + slice_.balance)

    def _slice(self, caller: Caller) -> _Slice:
        slice_ = self._slices.get(caller)
        if slice_ is None:
            # never leased: report a full bucket until the first lease says otherwise
            slice_ = self._slices[caller] = _Slice(shared=self.limits.maximum, shared_at=time.monotonic())
            while len(self._slices) > MAX_CALLERS:
                self._slices.popitem(last=False)
        else:
            self._slices.move_to_end(caller)
        return slice_
