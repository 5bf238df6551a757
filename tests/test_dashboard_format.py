"""How the dashboard words its numbers: changes of rates in percentage points and of amounts
in per cent, coloured by whether they moved the good way; zeros and a reason on an empty range;
budget status coloured by its state."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from dashboard.pages.common import change, table
from dashboard.pages.overview import cards
from store.analytics import Filters
from store.tenants import ensure_tenant


def _said(span: Any) -> tuple[str, str]:
    return span.children, span.className


def test_rates_change_in_points_and_amounts_in_per_cent() -> None:
    # 0.82 -> 0.78: 4 points down, not "-4.9%".
    assert _said(change(0.78, 0.82, rate=True)) == ("-4.0 pp vs previous period", "delta-bad")
    assert _said(change(0.9, 0.8, rate=True)) == ("+10.0 pp vs previous period", "delta-good")
    # Spend up is bad, savings up is good; a count is neither.
    assert _said(change(Decimal(120), Decimal(100), better="down")) == (
        "+20.0% vs previous period",
        "delta-bad",
    )
    assert _said(change(Decimal(80), Decimal(100))) == ("-20.0% vs previous period", "delta-bad")
    assert _said(change(5, 4, better=None)) == ("+25.0% vs previous period", "delta-none")
    assert _said(change(1, 1)) == ("+0.0% vs previous period", "delta-none")
    assert _said(change(None, 1)) == ("no previous data", "delta-none")
    assert _said(change(3, 0)) == ("previous period: 0", "delta-none")


def test_an_empty_range_shows_zeros_and_why(engine: Engine) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    with engine.connect() as conn:
        shown = cards(
            conn,
            tenant.id,
            Filters(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)),
        )
    values = {c.children[1].id: c.children[1].children for c in shown}
    notes = {c.children[2].children for c in shown}
    assert values["card-spend"] == "0.00" and values["card-requests"] == "0"
    assert "n/a" not in " ".join(values.values())
    assert notes == {"no usage in this range"}


def test_table_cells_keep_components() -> None:
    from dash import html

    status = html.Span("exceeded", className="budget-exceeded")
    rendered = table("t", ["budget", "status"], [["team a", status]], "none")
    [row] = rendered.children[1].children
    assert row.children[1].children is status
    assert row.children[0].children == "team a"


def test_the_readme_shows_every_page() -> None:
    """Each page has its screenshot in the README, and the image is in the repository."""
    import re
    from pathlib import Path

    from dashboard.app import PAGES

    root = Path(__file__).resolve().parents[1]
    shown = dict(
        re.findall(
            r"!\[([^\]]+)\]\((docs/screenshots/[^)]+\.png)\)", (root / "README.md").read_text()
        )
    )
    assert set(shown) == {page.TITLE for page in PAGES}
    for image in shown.values():
        assert (root / image).read_bytes().startswith(b"\x89PNG"), image


def _find(component: Any, component_id: str) -> Any:
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found = _find(child, component_id)
            if found is not None:
                return found
    return None


def test_a_filter_that_matches_nothing_is_a_warning_and_unused_filters_are_hidden() -> None:
    from dashboard.filters import bar

    now = datetime(2026, 12, 2, 18, tzinfo=UTC)
    options = {"provider": ["anthropic", "openai"], "app": ["review"]}
    values = {"provider": "nosuch", "app": "review"}
    shown = bar(values, options, now)
    warning = _find(shown, "f-unmatched")
    assert warning.children == "provider 'nosuch' has no usage in this range."
    assert getattr(shown, "style", None) is None
    assert _find(bar({"app": "review"}, options, now), "f-unmatched") is None
    # A page that applies only the dates hides the dimension filters (kept, so the URL keeps
    # them) and warns of nothing; one that applies none hides the bar.
    dates_only = bar(values, options, now, uses="dates")
    assert _find(dates_only, "f-unmatched") is None
    assert _find(dates_only, "f-provider") is not None
    assert all(
        child.style == {"display": "none"}
        for child in dates_only.children
        if _find(child, "f-provider") or _find(child, "f-app")
    )
    assert getattr(bar(values, options, now, uses="none"), "style", None) == {"display": "none"}


def test_the_percentile_chart_draws_the_busiest_models_and_merges_the_rest(
    engine: Engine,
) -> None:
    from prometheus_client import CollectorRegistry

    from dashboard.pages.latency import OTHER, TOP_MODELS, distribution, percentiles_by_day
    from ingest.metrics import IngestMetrics
    from ingest.service import Ingestor
    from tests.factories import anthropic_record

    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "acme")
    # Eight models; model i sends i + 1 requests, so the five busiest are m7 … m3.
    records = [
        anthropic_record(
            request_id=f"m{i}-{n}", model=f"m{i}", ttft_ms=100 + 10 * n, read=1024 * (n % 2)
        )
        for i in range(8)
        for n in range(i + 1)
    ]
    result = Ingestor(engine, IngestMetrics(CollectorRegistry())).ingest(
        tenant, records, source="push", received_at=datetime(2026, 11, 21, tzinfo=UTC)
    )
    assert not result.rejected
    f = Filters(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    with engine.connect() as conn:
        figure = percentiles_by_day(conn, tenant.id, f)
        spread = distribution(conn, tenant.id, f)
    names = [trace.name for trace in figure.data]
    assert TOP_MODELS == 5
    assert names == [f"{m} p{q}" for m in ("m7", "m6", "m5", "m4", "m3", OTHER) for q in (50, 95)]
    # The log axis of the distribution is labelled in ms and s where it has ticks.
    assert "100 ms" in spread.layout.xaxis.ticktext and "1 s" in spread.layout.xaxis.ticktext


def test_every_kind_of_advice_has_its_words() -> None:
    from cache.advice import KINDS
    from dashboard.pages.advice import KIND_LABELS, kind_text

    assert set(KIND_LABELS) == set(KINDS)
    # One the page does not know yet still reads as words, not as an identifier.
    assert kind_text("some_new_kind") == "some new kind"


def test_the_advice_thresholds_are_the_servers_settings(engine: Engine) -> None:
    """CACHEMETER_ADVICE_MIN_SAVING and _MIN_REQUESTS reach the Advice page, as they are the
    API's and the CLI's defaults."""
    from fastapi.testclient import TestClient
    from prometheus_client import CollectorRegistry

    from cachemeter.config import Settings
    from cachemeter.server import create_app
    from tests.dashboard_requests import CALLBACK, CALLBACKS, request_for
    from tests.factories import tenant_with_key

    _, key = tenant_with_key(engine)
    settings = Settings(secret_key="t", advice_min_saving=Decimal("2.5"), advice_min_requests=5)
    app = create_app(settings, engine=engine, registry=CollectorRegistry())
    [output] = [o for o in CALLBACKS if "ad-thresholds" in o]
    with TestClient(app) as client:
        assert client.post("/dashboard/login", data={"key": key}).status_code == 200
        answer = client.post(CALLBACK, json=request_for(output)).json()["response"]
    said = answer["ad-thresholds"]["children"]
    assert "would save at least 2.50 a month (in its price's currency)" in said
    assert "on at least 5 requests" in said
    # No usage at all: the empty state, with the same thresholds.
    empty = answer["ad-table"]["children"][0]["props"]
    assert empty["id"] == "ad-findings"
    assert empty["children"].startswith("No advice: nothing in this range and filter would")
