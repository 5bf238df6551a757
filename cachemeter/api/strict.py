"""What every API route reads strictly: its JSON body with the one strict parser
(ingest.json_body), and only the query parameters it declares.

FastAPI's own body reader is Python's json module, which takes NaN and Infinity (a 422 that
echoes them back then fails to encode); and it ignores unknown query parameters, so a
misspelt `strat=` would silently report the default range.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ingest.content_encoding import MAX_DECOMPRESSED, decompress, status_of
from ingest.errors import PayloadError
from ingest.fields import MAX_JSON_DEPTH
from ingest.json_body import NotJSON, parse_json


async def read_json(request: Request, max_depth: int | None = MAX_JSON_DEPTH) -> Any:
    """The request's body as strict JSON: 400 when it is not JSON, 422 when nested deeper than
    `max_depth` (None: a batch, whose items are checked one by one)."""
    encoding = request.headers.get("content-encoding")
    try:
        # A compressed body is held to the same limit once decompressed as a plain one.
        settings = getattr(request.app.state, "settings", None)
        limit = settings.max_body_bytes if settings is not None else MAX_DECOMPRESSED
        body = decompress(await request.body(), encoding, limit)
    except PayloadError as exc:
        raise HTTPException(status_of(exc), str(exc)) from None
    try:
        return parse_json(body, max_depth=max_depth)
    except NotJSON as exc:
        raise HTTPException(400, str(exc)) from None
    except PayloadError as exc:
        raise HTTPException(422, str(exc)) from None


class StrictJSONRequest(Request):
    """A request whose `json()` is the strict parser's."""

    async def json(self) -> Any:
        """The body as strict JSON (read once)."""
        if not hasattr(self, "_json"):
            self._json = await read_json(self)
        return self._json


def _query_names(dependant: Dependant) -> Iterator[str]:
    for param in dependant.query_params:
        yield param.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)


class StrictRoute(APIRoute):
    """An APIRoute whose handler reads its body with the strict parser and refuses query
    parameters it does not declare (422 naming them)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, behind the strict checks."""
        handler = super().get_route_handler()
        declared = frozenset(_query_names(self.dependant))

        async def strict(request: Request) -> Response:
            unknown = sorted(set(request.query_params) - declared)
            if unknown:
                names = ", ".join(repr(n[:40]) for n in unknown[:5])
                known = ", ".join(sorted(declared)) or "none"
                raise HTTPException(
                    422, f"query: unknown parameter {names} (this route takes: {known})"
                )
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
