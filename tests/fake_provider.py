"""A local fake of the OpenAI and Anthropic HTTP APIs, replaying their documented shapes, and
a loopback server to run it (or any ASGI app) in a test."""

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

CHAT_USAGE = {
    "prompt_tokens": 3000,
    "completion_tokens": 20,
    "total_tokens": 3020,
    "prompt_tokens_details": {"cached_tokens": 2048},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
# The response id of every answer served, in order: what a test expects reported as request_id.
SERVED: list[str] = []
ANTHROPIC_START = {
    "input_tokens": 10,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 0,
    "output_tokens": 1,
}
# A request that marks blocks with `cache_control` reads the cached prefix and writes the rest:
# 1000 tokens for 5 minutes and 2000 for an hour (Anthropic's `cache_creation` split).
ANTHROPIC_WRITE_START = {
    "input_tokens": 12,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 3000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    "output_tokens": 1,
}


def _sse(events: list[tuple[str | None, Any]]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        await asyncio.sleep(0.05)  # a measurable time to first token
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            yield ((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode()

    return StreamingResponse(body(), media_type="text/event-stream")


async def chat(request: Request) -> Response:
    body = await request.json()
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "model": body["model"], "created": 1795000000}
    SERVED.append(base["id"])
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
                        "message": {"role": "assistant", "content": "secret answer"},
                    }
                ],
            }
        )
    chunk = {**base, "object": "chat.completion.chunk"}
    events: list[tuple[str | None, Any]] = [
        (
            None,
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}}]},
        ),
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append((None, {**chunk, "choices": [], "usage": CHAT_USAGE}))
    return _sse([*events, (None, "[DONE]")])


async def responses(request: Request) -> Response:
    body = await request.json()
    SERVED.append(f"resp_{uuid.uuid4().hex}")
    return JSONResponse(
        {
            "id": SERVED[-1],
            "object": "response",
            "created_at": 1795000000,
            "model": body["model"],
            "status": "completed",
            "output": [],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": 5000,
                "input_tokens_details": {"cached_tokens": 4096},
                "output_tokens": 30,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 5030,
            },
        }
    )


def _marks_cache(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(_marks_cache(v) for v in value.values())
    if isinstance(value, list):
        return any(_marks_cache(v) for v in value)
    return False


async def messages(request: Request) -> Response:
    body = await request.json()
    start = ANTHROPIC_WRITE_START if _marks_cache(body) else ANTHROPIC_START
    message = {
        "id": f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    SERVED.append(message["id"])
    if not body.get("stream"):
        return JSONResponse(
            {
                **message,
                "content": [{"type": "text", "text": "secret answer"}],
                "usage": {**start, "output_tokens": 25},
            }
        )
    return _sse(
        [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        **message,
                        "content": [],
                        "stop_reason": None,
                        "usage": start,
                    },
                },
            ),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "hi"},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 25},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
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
