"""A local fake of the OpenAI and Anthropic HTTP APIs, replaying their documented shapes.

Every stream opens with events that carry no content (a role-only chunk, `response.created`,
`message_start`), then waits FIRST_TOKEN_DELAY before the first content delta, so a client's
time to first token can be told from its time to first event. `LoopbackServer` runs it (or any
ASGI app) on loopback in a test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

# Seconds between a stream's opening events and its first content delta.
FIRST_TOKEN_DELAY = 0.15

CHAT_USAGE = {
    "prompt_tokens": 3000,
    "completion_tokens": 20,
    "total_tokens": 3020,
    "prompt_tokens_details": {"cached_tokens": 2048, "cache_write_tokens": 512},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
RESPONSES_USAGE = {
    "input_tokens": 5000,
    "input_tokens_details": {"cached_tokens": 4096, "cache_write_tokens": 256},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 8},
    "total_tokens": 5030,
}
# Anthropic counts input SEPARATE from cache: 10 plain + 4000 read + 1500 written (500 for 5
# minutes, 1000 for an hour). message_start carries it with output_tokens 1; message_delta
# then says 25 (cumulative).
ANTHROPIC_START = {
    "input_tokens": 10,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 1500,
    "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1000},
    "output_tokens": 1,
}
ANTHROPIC_OUTPUT = 25
# A request that marks blocks with `cache_control` reads the cached prefix and writes the rest:
# 1000 tokens for 5 minutes and 2000 for an hour (Anthropic's `cache_creation` split).
ANTHROPIC_WRITE_START = {
    "input_tokens": 12,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 3000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    "output_tokens": 1,
}
# The response id of every answer served, in order: what a test expects reported as request_id.
SERVED: list[str] = []

TEXT = "secret answer"
# What a structured-output request (response_format, text.format, output_config.format) gets.
JSON_TEXT = json.dumps({"answer": TEXT})

Events = list[tuple[str | None, Any]]


def sse(opening: Events, content: Events) -> StreamingResponse:
    """Server-sent events: `opening` at once, then FIRST_TOKEN_DELAY, then `content`."""

    async def body() -> AsyncIterator[bytes]:
        for index, (name, data) in enumerate([*opening, *content]):
            if index == len(opening):
                await asyncio.sleep(FIRST_TOKEN_DELAY)  # the model "thinks" before its first token
            text = data if isinstance(data, str) else json.dumps(data)
            yield ((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode()

    return StreamingResponse(body(), media_type="text/event-stream")


async def chat(request: Request) -> Response:
    body = await request.json()
    text = JSON_TEXT if body.get("response_format") else TEXT
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "model": body["model"], "created": 1795000000}
    SERVED.append(base["id"])
    if body.get("service_tier"):
        base["service_tier"] = body["service_tier"]  # the tier it was served at
    if not body.get("stream"):
        return JSONResponse(
            {
                **base,
                "object": "chat.completion",
                "usage": CHAT_USAGE,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
            }
        )
    chunk = {**base, "object": "chat.completion.chunk"}
    opening: Events = [
        (
            None,
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        )
    ]
    content: Events = [
        (None, {**chunk, "choices": [{"index": 0, "delta": {"content": text}}]}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        content.append((None, {**chunk, "choices": [], "usage": CHAT_USAGE}))
    return sse(opening, [*content, (None, "[DONE]")])


async def responses(request: Request) -> Response:
    body = await request.json()
    text = JSON_TEXT if ((body.get("text") or {}).get("format") or {}).get("type") else TEXT
    item_id = f"msg_{uuid.uuid4().hex}"
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [part],
    }
    # With the web search tool, the model searched once and opened a page (not a search).
    searched = any(t.get("type") == "web_search" for t in body.get("tools") or [])
    searches = [
        {
            "id": f"ws_{uuid.uuid4().hex}",
            "type": "web_search_call",
            "status": "completed",
            "action": {"type": kind, "query": "private query", "url": "https://example.com"},
        }
        for kind in (("search", "open_page") if searched else ())
    ]
    SERVED.append(f"resp_{uuid.uuid4().hex}")
    response = {
        "id": SERVED[-1],
        "object": "response",
        "created_at": 1795000000,
        "model": body["model"],
        "status": "completed",
        "output": [*searches, item],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": RESPONSES_USAGE,
    }
    if not body.get("stream"):
        return JSONResponse(response)
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **where, "part": {**part, "text": ""}},
        {"type": "response.output_text.delta", **where, "delta": text, "logprobs": []},
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": response},
    ]
    numbered = [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events)]
    return sse(numbered[:4], numbered[4:])


def _marks_cache(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(_marks_cache(v) for v in value.values())
    if isinstance(value, list):
        return any(_marks_cache(v) for v in value)
    return False


async def messages(request: Request) -> Response:
    body = await request.json()
    text = JSON_TEXT if (body.get("output_config") or {}).get("format") else TEXT
    usage = ANTHROPIC_WRITE_START if _marks_cache(body) else ANTHROPIC_START
    message = {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    SERVED.append(str(message["id"]))
    if not body.get("stream"):
        return JSONResponse(
            {
                **message,
                "content": [{"type": "text", "text": text}],
                "usage": {**usage, "output_tokens": ANTHROPIC_OUTPUT},
            }
        )
    start = {**message, "content": [], "stop_reason": None, "usage": usage}
    return sse(
        [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            ("ping", {"type": "ping"}),
        ],
        [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": ANTHROPIC_OUTPUT},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ],
    )


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/messages", messages, methods=["POST"]),
    ]
)


class LoopbackServer:
    """uvicorn on a free loopback port in a thread, stoppable mid-test."""

    def __init__(self, asgi: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.server = uvicorn.Server(
            uvicorn.Config(asgi, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
