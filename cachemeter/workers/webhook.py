"""Webhook notifications: a bounded queue drained by one thread, retried with backoff, never
blocking the caller (regression checks, and so never ingest)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import httpx

from reports.formatting import money

log = logging.getLogger("cachemeter.workers.webhook")


class Webhook:
    """POSTs JSON bodies to `url`; Slack-compatible (`text`) plus the structured event."""

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 5,
        backoff: float = 1.0,
        timeout: float = 10.0,
        capacity: int = 1000,
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.dropped = 0
        self.delivered = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="cachemeter-webhook", daemon=True)
        self._thread.start()

    def send(self, body: dict[str, Any]) -> None:
        """Queue a notification; a full queue drops it (and counts it), never waits."""
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (within `timeout`) and stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while (body := self._queue.get()) is not None:
                self._deliver(client, body)

    def _deliver(self, client: httpx.Client, body: dict[str, Any]) -> None:
        for attempt in range(self.attempts):
            try:
                response = client.post(self.url, json=body)
                if response.status_code < 500 and response.status_code != 429:
                    self.delivered += 1
                    return
            except httpx.HTTPError as exc:
                log.warning(
                    "webhook delivery failed (%s), attempt %d", type(exc).__name__, attempt + 1
                )
            time.sleep(self.backoff * 2**attempt)
        self.dropped += 1
        log.error("webhook gave up after %d attempts", self.attempts)


def message(action: str, regression: dict[str, Any]) -> dict[str, Any]:
    """The webhook body for a regression opening or closing."""
    what = "cache hit rate" if regression["kind"] == "hit_rate" else "cached TTFT"
    where = f"{regression['app'] or '(no app)'} / {regression['model']}"
    if regression["cache_key"]:
        where += f" / {regression['cache_key']}"
    if action == "opened":
        text = (
            f":rotating_light: cachemeter: {what} regression in {where}: "
            f"{regression['baseline']:.2f} -> "
            f"{regression['recent']:.2f}, likely cause: {regression['cause'].replace('_', ' ')}"
        )
        details = regression.get("details") or {}
        if details.get("cost_per_day") is not None:
            cost = money(details["cost_per_day"], details["currency"])
            text += f"; costs about {cost} a day"
    else:
        text = f":white_check_mark: cachemeter: {what} recovered in {where}"
    return {"text": text, "event": action, "regression": regression}
