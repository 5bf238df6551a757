"""Every API route reads its JSON body with the one strict parser (ingest.json_body): FastAPI's
own reader is Python's json module, which takes NaN and Infinity, and a 422 echoing them back
then fails to encode."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from ingest.errors import PayloadError
from ingest.fields import MAX_JSON_DEPTH
from ingest.json_body import NotJSON, parse_json


async def read_json(request: Request, max_depth: int | None = MAX_JSON_DEPTH) -> Any:
    """The request's body as strict JSON: 400 when it is not JSON, 422 when nested deeper than
    `max_depth` (None: a batch, whose items are checked one by one)."""
    try:
        return parse_json(await request.body(), max_depth=max_depth)
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


class StrictJSONRoute(APIRoute):
    """An APIRoute whose handler sees a StrictJSONRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, given the strict request."""
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
