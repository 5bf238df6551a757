"""Request bodies sent compressed (Content-Encoding gzip or deflate), read back within a bound,
so that a small body cannot decompress into more than the server takes."""

from __future__ import annotations

import gzip
import io
import zlib

from ingest.errors import PayloadError

MAX_DECOMPRESSED = 64 * 1024 * 1024
# RFC 9110 §8.4.1.3: x-gzip is gzip.
_GZIP = ("gzip", "x-gzip")


class TooLarge(PayloadError):
    """A body larger than its limit once decompressed (HTTP 413, like a plain one)."""


def decompress(body: bytes, encoding: str | None, limit: int = MAX_DECOMPRESSED) -> bytes:
    """The body without its Content-Encoding (gzip or deflate), at most `limit` bytes; a
    stream that is truncated or followed by anything else is refused."""
    coding = (encoding or "").strip().lower()
    if coding in ("", "identity"):
        return body
    try:
        if coding in _GZIP:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                data = unzipped.read(limit + 1)
            whole = True  # GzipFile raises on a truncated stream and reads every member
        elif coding == "deflate":
            inflated = zlib.decompressobj()
            data = inflated.decompress(body, limit + 1)
            whole = inflated.eof and not inflated.unused_data
        else:
            raise PayloadError(
                "Content-Encoding", f"unsupported {encoding!r} (use gzip, deflate or none)"
            )
    except (OSError, zlib.error, EOFError):
        raise PayloadError("body", f"not valid {coding} data") from None
    if len(data) > limit:
        raise TooLarge("body", f"more than {limit:,} bytes once decompressed")
    if not whole:
        raise PayloadError("body", f"not valid {coding} data (truncated, or followed by more)")
    return data


def status_of(error: PayloadError) -> int:
    """The HTTP status of a body refused while decompressing or reading it."""
    if isinstance(error, TooLarge):
        return 413
    return 415 if error.field == "Content-Encoding" else 400
