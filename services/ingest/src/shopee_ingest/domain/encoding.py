"""Request bodies sent with `Content-Encoding: gzip` (pure).

Log shippers and batch scripts gzip large NDJSON bodies (the demo's events compress about sixfold). The body
limit applies to the inflated bytes too, so a small gzip of zeros cannot make the service hold
gigabytes.
"""

from __future__ import annotations

import zlib

from shopee_ingest.domain.batch import MalformedBody

GZIP_CODINGS = frozenset({"gzip", "x-gzip"})
# zlib's window bits for a gzip header and trailer around the deflate stream.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class UnsupportedEncoding(ValueError):
    """A Content-Encoding the service does not read."""


class InflatedTooLarge(ValueError):
    """The body inflates past the limit."""


def decoded_body(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """The body before its Content-Encoding (none, `identity` or gzip), at most `max_bytes` long
    once inflated. Several gzip members one after another are one body, as `gzip -c a b` makes."""
    codings = [
        coding
        for coding in (part.strip().lower() for part in (content_encoding or "").split(","))
        if coding and coding != "identity"
    ]
    if not codings:
        return body
    if len(codings) > 1 or codings[0] not in GZIP_CODINGS:
        raise UnsupportedEncoding(
            f"Content-Encoding {content_encoding!r} is not supported; send gzip or no encoding"
        )
    inflated = bytearray()
    rest = body
    while True:
        inflater = zlib.decompressobj(_GZIP_WBITS)
        try:
            # One byte past the limit is enough to know the body is too large.
            inflated += inflater.decompress(rest, max_bytes + 1 - len(inflated))
        except zlib.error as exc:
            raise MalformedBody(f"the body is not valid gzip: {exc}") from None
        if len(inflated) > max_bytes:
            raise InflatedTooLarge(f"the request body inflates to more than {max_bytes} bytes")
        if not inflater.eof:
            raise MalformedBody("the gzip body ends before its end of stream")
        rest = inflater.unused_data
        if not rest:
            return bytes(inflated)
