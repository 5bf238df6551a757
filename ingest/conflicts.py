"""A request id reused with other numbers is an idempotency conflict, not a retry.

Like an idempotency key reused with other parameters (Stripe answers 409), a record whose
(source, request id) is stored already but whose usage, model or provider differ from the
stored ones is reported and never overwrites what is stored; a true retry (the same usage,
model and provider) stays a silent duplicate. Spans of one call from several instrumentors
are merged instead (ingest.merge).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing.usage import TOKEN_FIELDS
from ingest.merge import usage_of
from ingest.record import UsageRecord


def differences(stored: Mapping[str, Any], later: UsageRecord) -> list[str]:
    """What a later record of a stored request id says otherwise, field by field."""
    found = []
    was_usage = usage_of(stored)
    for name in TOKEN_FIELDS:
        was, now = getattr(was_usage, name), getattr(later.usage, name)
        if was != now:
            found.append(f"{name} {now} (stored: {was})")
    if stored.get("provider") != later.provider:
        found.append(f"provider {later.provider!r} (stored: {stored.get('provider')!r})")
    # Events stored before revision 0013 keep the reported name in `model`.
    was_model = stored.get("reported_model") or stored.get("model")
    if was_model != later.reported_model:
        found.append(f"model {later.reported_model!r} (stored: {was_model!r})")
    return found


def conflict_message(request_id: str, found: list[str]) -> str:
    """The error a sender gets for a conflicting reuse of `request_id`."""
    return (
        f"request_id {request_id!r} was stored with other usage: {'; '.join(found)}; nothing"
        " stored was changed (use a new request id for a new request)"
    )
