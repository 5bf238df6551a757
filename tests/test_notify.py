"""The webhook: retried with backoff, Slack-compatible body, never blocking the caller."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

from cachemeter.workers.webhook import Webhook, message

REGRESSION = {
    "kind": "hit_rate",
    "scope": "app_model",
    "app": "code-review",
    "provider": "openai",
    "model": "gpt-5.1",
    "cache_key": "",
    "baseline": 0.82,
    "recent": 0.03,
    "cause": "prefix_changed",
}


class _Receiver(BaseHTTPRequestHandler):
    failures = 2
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
        else:
            type(self).bodies.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_retries_then_delivers_without_blocking() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    webhook = Webhook(f"http://127.0.0.1:{server.server_port}/hook", backoff=0.05)
    began = time.perf_counter()
    webhook.send(message("opened", REGRESSION))
    assert time.perf_counter() - began < 0.05  # queued, not sent inline
    webhook.close(timeout=10)
    server.shutdown()
    assert webhook.delivered == 1 and webhook.dropped == 0
    [body] = _Receiver.bodies
    assert body["event"] == "opened" and body["regression"]["cause"] == "prefix_changed"
    assert "code-review / gpt-5.1" in body["text"] and "prefix changed" in body["text"]


def test_unreachable_endpoint_gives_up_and_counts() -> None:
    webhook = Webhook("http://127.0.0.1:9/nowhere", attempts=2, backoff=0.01, timeout=0.5)
    webhook.send(message("closed", REGRESSION))
    webhook.close(timeout=10)
    assert (webhook.delivered, webhook.dropped) == (0, 1)
    assert message("closed", REGRESSION)["text"].startswith(":white_check_mark:")
