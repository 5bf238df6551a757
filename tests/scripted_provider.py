"""A loopback fake of the Anthropic Messages and OpenAI Chat Completions APIs that serves a
script of usages, in the documented shapes, and logs what it served: the ground truth the real
clients' reports are checked against.

The scenario of issue 17: six Anthropic calls with 21-26 uncached input tokens, three cache
reads of 4,096 and three cache writes of 1,500, two of them with 1,000 written for one hour.
Streams wait `FIRST_TOKEN_DELAY` seconds between the stream's start and its first content
token, so a time to first token is at least that.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fake_provider import FIRST_TOKEN_DELAY, Events, sse

__all__ = ["FIRST_TOKEN_DELAY", "SCENARIO", "ScriptedProvider", "Served"]


@dataclass(frozen=True)
class Served:
    """One usage to serve: Anthropic's split (input excludes cache) and the output."""

    plain: int
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0
    output: int = 12

    @property
    def write(self) -> int:
        return self.write_5m + self.write_1h

    @property
    def total_input(self) -> int:
        return self.plain + self.read + self.write


SCENARIO = (
    Served(21, write_5m=500, write_1h=1000),
    Served(22, read=4096),
    Served(23, write_5m=500, write_1h=1000),
    Served(24, read=4096),
    Served(25, write_5m=1500),
    Served(26, read=4096),
)


@dataclass
class Log:
    """What the fake provider served, call by call."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Requests and token totals of every call served."""
        keys = ("input", "read", "write", "write_1h", "output")
        return {"requests": len(self.calls), **{k: sum(c[k] for c in self.calls) for k in keys}}


class ScriptedProvider:
    """The Starlette app and its script; each request takes the next usage, round-robin."""

    def __init__(self, script: tuple[Served, ...] = SCENARIO) -> None:
        self.script = script
        self.log = Log()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
            ]
        )

    def _next(self, kind: str, stream: bool) -> tuple[str, Served]:
        with self._lock:
            served = self.script[len(self.log.calls) % len(self.script)]
            rid = f"{kind}_{uuid.uuid4().hex[:24]}"
            self.log.calls.append(
                {
                    "id": rid,
                    "stream": stream,
                    "input": served.total_input,
                    "read": served.read,
                    "write": served.write,
                    "write_1h": served.write_1h,
                    "output": served.output,
                }
            )
        return rid, served

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        stream = bool(body.get("stream"))
        rid, served = self._next("msg", stream)
        usage = {
            "input_tokens": served.plain,
            "cache_creation_input_tokens": served.write,
            "cache_read_input_tokens": served.read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": served.write_5m,
                "ephemeral_1h_input_tokens": served.write_1h,
            },
            "output_tokens": served.output,
            "service_tier": "standard",
        }
        message = {
            "id": rid,
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
        if not stream:
            return JSONResponse(message)
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        }
        events: Events = [
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
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "ok"},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    # Cumulative; the TTL split only ever arrives in message_start.
                    "usage": {
                        "input_tokens": served.plain,
                        "cache_creation_input_tokens": served.write,
                        "cache_read_input_tokens": served.read,
                        "output_tokens": served.output,
                    },
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return sse(events[:3], events[3:])

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        stream = bool(body.get("stream"))
        rid, served = self._next("chatcmpl", stream)
        usage = {
            "prompt_tokens": served.total_input,
            "completion_tokens": served.output,
            "total_tokens": served.total_input + served.output,
            "prompt_tokens_details": {"cached_tokens": served.read, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
        base = {"id": rid, "model": body["model"], "created": int(time.time())}
        if not stream:
            choice = {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "ok"},
            }
            return JSONResponse(
                {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )
        chunk = {**base, "object": "chat.completion.chunk"}
        role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        text = {"index": 0, "delta": {"content": "ok"}, "finish_reason": None}
        done = {"index": 0, "delta": {}, "finish_reason": "stop"}
        events: Events = [
            (None, {**chunk, "choices": [role]}),
            (None, {**chunk, "choices": [text]}),
            (None, {**chunk, "choices": [done]}),
        ]
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append((None, {**chunk, "choices": [], "usage": usage}))
        events.append((None, "[DONE]"))
        return sse(events[:1], events[1:])
