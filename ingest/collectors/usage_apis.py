"""The OpenAI organisation usage API and the Anthropic usage report API, as canonical buckets.

OpenAI `GET /v1/organization/usage/completions`: per bucket `results[]` with `input_tokens`
(INCLUDES `input_cached_tokens` and `input_cache_write_tokens`, as a request's `prompt_tokens`
includes its cache), `output_tokens`, `num_model_requests`, `model`.
Anthropic `GET /v1/organizations/usage_report/messages`: per bucket `results[]` with
`uncached_input_tokens`, `cache_read_input_tokens`, `cache_creation.ephemeral_5m_input_tokens`
/ `ephemeral_1h_input_tokens` (SEPARATE: total input is their sum), `output_tokens`, `model`.
Both page with `has_more` / `next_page`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ingest.errors import PayloadError
from ingest.fields import count, text
from ingest.json_body import parse_json

BUCKETS = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1), "1d": timedelta(days=1)}


@dataclass(frozen=True, slots=True)
class Bucket:
    """Provider-reported usage of one model (and scope) over [start, end)."""

    provider: str
    start: datetime
    end: datetime
    model: str
    scope: str
    requests: int | None
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    raw: dict[str, Any]


def _scope(result: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    return "|".join(f"{k}={result[k]}" for k in keys if result.get(k) not in (None, ""))


def openai_buckets(page: Mapping[str, Any]) -> list[Bucket]:
    """Buckets of one page of the OpenAI completions usage API."""
    out = []
    for bucket in page.get("data") or []:
        start = datetime.fromtimestamp(int(bucket["start_time"]), UTC)
        end = datetime.fromtimestamp(int(bucket["end_time"]), UTC)
        for result in bucket.get("results") or []:
            out.append(
                Bucket(
                    provider="openai",
                    start=start,
                    end=end,
                    model=text(result, ("model",)) or "",
                    scope=_scope(result, ("project_id", "api_key_id", "user_id", "batch")),
                    requests=count(result, ("num_model_requests",)),
                    input_tokens=count(result, ("input_tokens",)) or 0,
                    cache_read_tokens=count(result, ("input_cached_tokens",)) or 0,
                    cache_write_tokens=count(result, ("input_cache_write_tokens",)) or 0,
                    cache_write_1h_tokens=0,
                    output_tokens=count(result, ("output_tokens",)) or 0,
                    raw=dict(result),
                )
            )
    return out


def _rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def anthropic_buckets(page: Mapping[str, Any]) -> list[Bucket]:
    """Buckets of one page of the Anthropic messages usage report API."""
    out = []
    for bucket in page.get("data") or []:
        start, end = _rfc3339(bucket["starting_at"]), _rfc3339(bucket["ending_at"])
        for result in bucket.get("results") or []:
            uncached = count(result, ("uncached_input_tokens",)) or 0
            read = count(result, ("cache_read_input_tokens",)) or 0
            short = count(result, ("cache_creation", "ephemeral_5m_input_tokens")) or 0
            long = count(result, ("cache_creation", "ephemeral_1h_input_tokens")) or 0
            out.append(
                Bucket(
                    provider="anthropic",
                    start=start,
                    end=end,
                    model=text(result, ("model",)) or "",
                    scope=_scope(
                        result, ("workspace_id", "api_key_id", "service_tier", "context_window")
                    ),
                    requests=None,
                    input_tokens=uncached + read + short + long,
                    cache_read_tokens=read,
                    cache_write_tokens=short + long,
                    cache_write_1h_tokens=long,
                    output_tokens=count(result, ("output_tokens",)) or 0,
                    raw=dict(result),
                )
            )
    return out


@dataclass(frozen=True)
class UsageApi:
    """How to call one provider's usage API."""

    name: str
    path: str
    parse: Callable[[Mapping[str, Any]], list[Bucket]]
    headers: Callable[[str], dict[str, str]]
    params: Callable[[datetime, datetime, str], dict[str, Any]]


OPENAI = UsageApi(
    name="openai",
    path="/v1/organization/usage/completions",
    parse=openai_buckets,
    headers=lambda key: {"Authorization": f"Bearer {key}"},
    params=lambda start, end, width: {
        "start_time": int(start.timestamp()),
        "end_time": int(end.timestamp()),
        "bucket_width": width,
        "group_by": ["model"],
    },
)
ANTHROPIC = UsageApi(
    name="anthropic",
    path="/v1/organizations/usage_report/messages",
    parse=anthropic_buckets,
    headers=lambda key: {"x-api-key": key, "anthropic-version": "2023-06-01"},
    params=lambda start, end, width: {
        "starting_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ending_at": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bucket_width": width,
        "group_by[]": ["model"],
    },
)
APIS = {"openai": OPENAI, "anthropic": ANTHROPIC}


def pages(
    api: UsageApi,
    client: httpx.Client,
    base_url: str,
    key: str,
    start: datetime,
    end: datetime,
    width: str,
    attempts: int = 4,
    backoff: float = 1.0,
) -> Iterator[list[Bucket]]:
    """Every page of buckets in [start, end), following `next_page`; 429/5xx are retried."""
    params = api.params(start, end, width)
    while True:
        for attempt in range(attempts):
            try:
                response = client.get(
                    base_url.rstrip("/") + api.path, params=params, headers=api.headers(key)
                )
            except httpx.HTTPError as exc:
                if attempt == attempts - 1:
                    raise PayloadError(api.name, f"usage API unreachable: {exc}") from None
            else:
                if response.status_code < 400:
                    break
                if response.status_code not in (429, 500, 502, 503, 504) or attempt == attempts - 1:
                    raise PayloadError(
                        api.name,
                        f"usage API answered {response.status_code}: {response.text[:200]}",
                    )
            time.sleep(backoff * 2**attempt)
        # The strict reader every body goes through: a page that is not RFC 8259 JSON (or
        # carries a lone surrogate, which no text column holds) is a named error, not a crash.
        body = parse_json(response.content, field=api.name)
        if not isinstance(body, dict):
            raise PayloadError(api.name, f"usage API answered {type(body).__name__}, not an object")
        try:
            buckets = api.parse(body)
        except PayloadError:
            raise  # already names what is wrong
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadError(
                api.name, f"usage API page not in its documented shape: {exc!r}"
            ) from None
        yield buckets
        if not body.get("has_more") or not body.get("next_page"):
            return
        params = {**params, "page": body["next_page"]}
