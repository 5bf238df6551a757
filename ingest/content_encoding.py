"""Request bodies sent compressed (Content-Encoding gzip or deflate), read back within a bound,
so that a small body cannot decompress into more than the server takes."""

from __future__ import annotations

import gzip
import io
import zlib

from ingest.errors import PayloadError

MAX_DECOMPRESSED = 64 * 1024 * 1024


def decompress(body: bytes, encoding: str | None, limit: int = MAX_DECOMPRESSED) -> bytes:
    """The body without its Content-Encoding (gzip or deflate), at most `limit` bytes."""
    coding = (encoding or "").strip().lower()
    if coding in ("", "identity"):
        return body
    try:
        if coding == "gzip":
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
                data = stream.read(limit + 1)
        elif coding == "deflate":
            data = zlib.decompressobj().decompress(body, limit + 1)
        else:
            raise PayloadError("Content-Encoding", f"unsupported {encoding!r} (use gzip or none)")
    except (OSError, zlib.error, EOFError):
        raise PayloadError("body", f"not valid {coding} data") from None
    if len(data) > limit:
        raise PayloadError("body", f"more than {limit:,} bytes once decompressed")
    return data
