"""Opaque ids for what a tenant sees (prices, re-pricing runs, regressions).

The tables' ids come from sequences every tenant shares, so handing them out would let one
tenant count another's activity (a price stored by someone else moves the next id). An opaque id
is an HMAC of the kind and the number under the server's secret: stable, unique per object,
and telling nothing of the sequence. No route takes one back in: they name objects only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def opaque_id(kind: str, number: int, key: bytes) -> str:
    """`kind_` and 24 base32 characters (120 bits) of HMAC-SHA256(key, "kind:number")."""
    digest = hmac.new(key, f"{kind}:{number}".encode(), hashlib.sha256).digest()
    return f"{kind}_{base64.b32encode(digest[:15]).decode().lower()}"
