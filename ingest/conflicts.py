"""A request id reused with other numbers is an idempotency conflict, not a retry.

Like an idempotency key reused with other parameters (Stripe answers 409), a record whose
(source, request id) is stored already but whose usage, model or provider differ from the
stored ones is reported and never overwrites what is stored; a true retry (the same usage,
model and provider) stays a silent duplicate. Spans of one call from several instrumentors
are merged instead (ingest.merge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from billing.usage import TOKEN_FIELDS
from ingest.merge import usage_of
from ingest.record import UsageRecord


@dataclass(frozen=True)
class Conflict:
    """A later record of a stored request id that says otherwise: the id, what differs field
    by field, and which of usage, model and provider do (its bounded class)."""

    request_id: str
    found: tuple[str, ...]
    kinds: tuple[str, ...]

    @property
    def reason(self) -> str:
        """The conflict's class, e.g. "usage" or "usage+model" (never a value)."""
        return "+".join(self.kinds)

    @property
    def message(self) -> str:
        """The error its sender gets."""
        return conflict_message(self.request_id, list(self.found))


def _differences(stored: Mapping[str, Any], later: UsageRecord) -> list[tuple[str, str]]:
    """(kind, what) per field a later record of a stored request id says otherwise."""
    found = []
    was_usage = usage_of(stored)
    for name in TOKEN_FIELDS:
        was, now = getattr(was_usage, name), getattr(later.usage, name)
        if was != now:
            found.append(("usage", f"{name} {now} (stored: {was})"))
    if stored.get("provider") != later.provider:
        found.append(
            ("provider", f"provider {later.provider!r} (stored: {stored.get('provider')!r})")
        )
    # Events stored before revision 0013 keep the reported name in `model`.
    was_model = stored.get("reported_model") or stored.get("model")
    if was_model != later.reported_model:
        found.append(("model", f"model {later.reported_model!r} (stored: {was_model!r})"))
    return found


def find_conflict(stored: Mapping[str, Any], later: UsageRecord) -> Conflict | None:
    """The conflict of a later record with the stored one of its request id, if it is one."""
    found = _differences(stored, later)
    if not found:
        return None
    kinds = tuple(k for k in ("usage", "model", "provider") if any(f[0] == k for f in found))
    return Conflict(str(later.request_id), tuple(what for _, what in found), kinds)


def conflict_message(request_id: str, found: list[str]) -> str:
    """The error a sender gets for a conflicting reuse of `request_id`."""
    return (
        f"request_id {request_id!r} was stored with other usage: {'; '.join(found)}; nothing"
        " stored was changed (use a new request id for a new request)"
    )
