"""Prices resolved once per (provider, model, tenant, half-hour) instead of once per request.

A half-hour's answer is reused only when `PriceBook.stable` says no price can change inside it
(catalogue entries starting or ending, dated or off-peak genai-prices prices); otherwise each
request is resolved on its own, so the cache never changes a charge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from billing.price import Price, PriceNotFound
from billing.pricebook import PriceBook

BUCKET_SECONDS = 1800


class PriceResolver(Protocol):
    """Anything that resolves the price in force for a request (a PriceBook or a PriceCache)."""

    def resolve(
        self, provider: str, model: str | None, at: datetime, tenant: str | None = None
    ) -> Price: ...


def bucket_price(
    book: PriceBook, provider: str, model: str | None, bucket: int, tenant: str | None = None
) -> tuple[bool, Price | None]:
    """Whether one price holds for the whole half-hour `bucket` (epoch seconds //
    BUCKET_SECONDS), and if so that price, or None when there is none."""
    start = datetime.fromtimestamp(bucket * BUCKET_SECONDS, UTC)
    if not book.stable(provider, model, start, start + timedelta(seconds=BUCKET_SECONDS), tenant):
        return False, None
    try:
        return True, book.resolve(provider, model, start, tenant)
    except PriceNotFound:
        return True, None


class PriceCache:
    """`PriceBook.resolve`, memoised per half-hour where the price cannot change inside it."""

    def __init__(self, book: PriceBook, max_entries: int = 50_000) -> None:
        self.book = book
        self._max = max_entries
        # None: resolve each request (the price changes inside the bucket, or there is none
        # and the reason should name the request's own time).
        self._buckets: dict[tuple[str, str | None, str | None, int], Price | None] = {}

    def resolve(
        self, provider: str, model: str | None, at: datetime, tenant: str | None = None
    ) -> Price:
        """The price in force at `at`, or PriceNotFound with the reason (as PriceBook)."""
        bucket = int(at.timestamp()) // BUCKET_SECONDS
        key = (provider, model, tenant, bucket)
        try:
            found = self._buckets[key]
        except KeyError:
            found = self._fill(key)
        if found is None:
            return self.book.resolve(provider, model, at, tenant)
        return found

    def _fill(self, key: tuple[str, str | None, str | None, int]) -> Price | None:
        provider, model, tenant, bucket = key
        # Only a price that holds all half-hour is kept; None sends requests to the book.
        _, found = bucket_price(self.book, provider, model, bucket, tenant)
        if len(self._buckets) >= self._max:
            # Old buckets are rarely asked again; starting afresh keeps memory bounded.
            self._buckets.clear()
        self._buckets[key] = found
        return found
