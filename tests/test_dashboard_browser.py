"""The dashboard served by the real app, driven in a real headless Chromium: every page loads,
filters change what is shown, and the numbers equal what the database says."""

from __future__ import annotations

import csv
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from selenium.webdriver.common.keys import Keys
from sqlalchemy import Engine, text

from billing.pricebook import PriceBook
from cachemeter.cli.demo import load_demo
from cachemeter.config import Settings, advice_settings
from cachemeter.server import create_app
from ingest.metrics import IngestMetrics
from ingest.service import Ingestor
from reports.advice import advice
from reports.formatting import money
from store.tenancy import tenant_transaction
from store.tenants import TenantRef
from tests.browser import DOWNLOADS, wait
from tests.factories import anthropic_record, ingested, prefix_money_records, tenant_with_key

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(
    os.environ.get("CACHEMETER_TEST_OUTPUT", Path(__file__).resolve().parents[1] / "test-output")
)


# A dropdown's options, not the time zone switch's radio buttons (also role=option).
OPTIONS = "[role=option]:not(#f-tz [role=option])"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def seeded(engine: Engine) -> dict[str, str]:
    """Four days of demo traffic for tenant acme; a second tenant with one request."""
    _, key = tenant_with_key(engine, "acme")
    _, other_key = tenant_with_key(engine, "globex")
    ingestor = Ingestor(engine, IngestMetrics(CollectorRegistry()))
    load_demo(ingestor, engine, tenant_name="acme", days=4, now=datetime.now(UTC))
    return {"key": key, "other": other_key}


@pytest.fixture
def live_server(engine: Engine, seeded: dict[str, str]) -> Iterator[str]:
    app = create_app(
        Settings(secret_key="browser-test"), engine=engine, registry=CollectorRegistry()
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _login(driver: Any, base: str, key: str) -> None:
    driver.get(f"{base}/dashboard/")
    wait(driver, lambda d: "/dashboard/login" in d.current_url)
    driver.find_element("id", "key").send_keys(key)
    driver.find_element("id", "sign-in").click()
    wait(driver, lambda d: d.find_elements("id", "card-requests"))


def _text(driver: Any, element_id: str, predicate: Any = bool) -> str:
    return str(
        wait(driver, lambda d: (t := d.find_element("id", element_id).text) and predicate(t) and t)
    )


def _shot(driver: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.5)  # let Plotly finish drawing
    driver.save_screenshot(str(SCREENSHOTS / f"dashboard-{name}.png"))


def _db(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _week() -> dict[str, datetime]:
    """The default view: the last 7 days to the end of the current hour."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return {"start": end - timedelta(days=7), "end": end}


def _choose(driver: Any, dropdown_id: str, value: str) -> None:
    """Open a Dash dropdown and click the option `value`, as a person would."""
    driver.find_element("id", dropdown_id).click()
    option = wait(
        driver,
        lambda d: next(
            (o for o in d.find_elements("css selector", OPTIONS) if o.text.strip() == value),
            None,
        ),
    )
    option.click()


def test_every_page_with_numbers_from_the_database(
    engine: Engine, live_server: str, browser: Any, seeded: dict[str, str]
) -> None:
    _login(browser, live_server, seeded["key"])
    week = _week()
    tenant = "(SELECT id FROM tenants WHERE name = 'acme')"
    requests = _db(
        engine,
        f"SELECT count(*) FROM usage_events WHERE tenant_id = {tenant}"
        " AND occurred_at >= :start AND occurred_at < :end",
        **week,
    )
    assert _text(browser, "card-requests") == f"{requests:,}"
    _shot(browser, "overview")
    # The card grid wraps whole cards, never a value: at any width each value fits its card.
    for width in (1600, 1000, 600):
        browser.set_window_size(width, 1000)
        assert browser.execute_script(
            "return [...document.querySelectorAll('.card .value')]"
            ".every(v => v.scrollWidth <= v.clientWidth);"
        ), width
    browser.set_window_size(1400, 1000)

    # Change a filter in the UI: the cards follow, and the URL keeps it.
    _choose(browser, "f-provider", "openai")
    openai = _db(
        engine,
        f"SELECT count(*) FROM usage_events WHERE tenant_id = {tenant} AND provider = 'openai'"
        " AND occurred_at >= :start AND occurred_at < :end",
        **week,
    )
    assert _text(browser, "card-requests", lambda t: t == f"{openai:,}") == f"{openai:,}"
    assert "provider=openai" in browser.current_url
    read, inputs = (
        _db(
            engine,
            f"SELECT sum({c}) FROM usage_events WHERE tenant_id = {tenant} AND provider = "
            "'openai' AND occurred_at >= :start AND occurred_at < :end",
            **week,
        )
        for c in ("cache_read_tokens", "input_tokens")
    )
    assert _text(browser, "card-token-hit") == f"{read / inputs * 100:.1f}%"

    # The filter travels with the navigation links.
    browser.find_element("id", "nav-hitrate").click()
    wait(browser, lambda d: "/hit-rate" in d.current_url and "provider=openai" in d.current_url)
    misses = _db(
        engine,
        f"SELECT count(*) FROM usage_events WHERE tenant_id = {tenant} AND provider = 'openai'"
        " AND cache_read_tokens = 0 AND occurred_at >= :start AND occurred_at < :end",
        **week,
    )
    shown = wait(
        browser,
        lambda d: d.execute_script(
            "const g = document.querySelector('#hit-misses .js-plotly-plot');"
            "return g && g.data && g.data.length ? g.data[0].x.reduce((a, b) => a + b, 0) : null;"
        ),
    )
    assert shown == misses
    wait(browser, lambda d: d.find_elements("id", "hit-prefix-table"))
    _shot(browser, "hit-rate")

    browser.get(f"{live_server}/dashboard/latency")
    wait(browser, lambda d: d.find_elements("id", "lat-fit-table"))
    models = _db(
        engine,
        f"SELECT count(DISTINCT model) FROM usage_events WHERE tenant_id = {tenant}"
        " AND ttft_ms IS NOT NULL AND occurred_at >= :start AND occurred_at < :end",
        **week,
    )
    assert len(browser.find_elements("css selector", "#lat-fit-table tbody tr")) == models
    # Each slope has its R² beside it, as PostgreSQL's own regression of the events gives it;
    # the slope is left out under 30 requests or R² 0.5 (the page's note says so).
    header = [th.text for th in browser.find_elements("css selector", "#lat-fit-table thead th")]
    assert header[-2:] == ["saved per cached token", "fit (R²)"]
    assert "at least 30 requests" in browser.find_element("id", "lat-fit-note").text
    with engine.connect() as conn:
        regression = {
            r.model: r
            for r in conn.execute(
                text(
                    "SELECT model, regr_count(ttft_ms, uncached_input_tokens) AS n,"
                    " regr_r2(ttft_ms, uncached_input_tokens) AS r2,"
                    " regr_slope(ttft_ms, uncached_input_tokens) AS slope"
                    f" FROM usage_events WHERE tenant_id = {tenant}"
                    " AND occurred_at >= :start AND occurred_at < :end GROUP BY model"
                ),
                week,
            )
        }
    shown_slopes = 0
    for row in browser.find_elements("css selector", "#lat-fit-table tbody tr"):
        model, *_, saved, quality = [td.text for td in row.find_elements("tag name", "td")]
        expected = regression[model]
        if expected.n < 30:
            assert (saved, quality) == ("too few requests", "n/a"), model
            continue
        if expected.r2 is None:  # every request of the same uncached size: no line to fit
            assert (saved, quality) == ("no fit", "n/a"), model
            continue
        assert float(quality) == pytest.approx(expected.r2, abs=0.005 + 1e-9), model
        if round(expected.r2, 2) >= 0.5:  # judged as shown, to two decimals
            assert float(saved.removesuffix(" ms")) == pytest.approx(expected.slope, abs=6e-5)
            shown_slopes += 1
        else:
            assert saved == "no fit", model
    assert shown_slopes  # the demo's TTFT follows its prefill
    _shot(browser, "latency")

    browser.get(f"{live_server}/dashboard/spend")
    # The stack is every charge line: request costs plus explicit-cache storage.
    cost = _db(
        engine,
        f"SELECT sum(cost) FROM usage_events WHERE tenant_id = {tenant}"
        " AND occurred_at >= :start AND occurred_at < :end",
        **week,
    )
    cost += _db(
        engine,
        f"SELECT coalesce(sum(cost_storage), 0) FROM cache_objects WHERE tenant_id = {tenant}"
        " AND created_at >= :start AND created_at < :end",
        **week,
    )
    stacked = wait(
        browser,
        lambda d: d.execute_script(
            "const g = document.querySelector('#spend-parts .js-plotly-plot');"
            "return g && g.data && g.data.length ? g.data.map(t => t.y.reduce((a, b) => a + b, 0))"
            ".reduce((a, b) => a + b, 0) : null;"
        ),
    )
    assert stacked == pytest.approx(float(cost), rel=1e-9)
    _shot(browser, "spend")

    browser.get(f"{live_server}/dashboard/statements")
    month = datetime.now(UTC).strftime("%Y-%m-01")
    total = _db(
        engine,
        f"SELECT sum(cost) FROM usage_events WHERE tenant_id = {tenant}"
        " AND occurred_at >= CAST(:month AS timestamptz)"
        " AND occurred_at < CAST(:month AS timestamptz) + interval '1 month'",
        month=month,
    )
    total += _db(
        engine,
        f"SELECT coalesce(sum(cost_storage), 0) FROM cache_objects WHERE tenant_id = {tenant}"
        " AND created_at >= CAST(:month AS timestamptz)"
        " AND created_at < CAST(:month AS timestamptz) + interval '1 month'",
        month=month,
    )
    wait(browser, lambda d: d.find_elements("css selector", "#st-data tbody tr"))
    last_row = browser.find_elements("css selector", "#st-data tbody tr")[-1].find_elements(
        "tag name", "td"
    )
    header = [th.text for th in browser.find_elements("css selector", "#st-data thead th")]
    assert last_row[0].text == "TOTAL"
    # To the cent with the currency; the CSV below keeps every digit.
    assert last_row[header.index("cost")].text == f"{total.quantize(Decimal('0.01')):,} USD"
    assert "cost without caching" in header and "nocache cost" not in header
    _shot(browser, "statements")
    browser.find_element("id", "st-download-button").click()
    csv_file = wait(browser, lambda d: next(iter(DOWNLOADS.glob("statement-*.csv")), None))
    rows = csv_file.read_text().splitlines()
    assert rows[0].startswith("group,requests") and rows[-1].startswith("TOTAL,")
    [csv_total] = [r for r in csv.DictReader(rows) if r["group"] == "TOTAL"]
    assert Decimal(csv_total["cost"]) == total  # every digit

    browser.get(f"{live_server}/dashboard/prices")
    # Claude Sonnet 4.5: write 1.25x, read 0.1x input: (1.25 - 1) / (1 - 0.1) = 0.28 reads.
    assert _text(browser, "pr-break-even") == "0.28 reads"
    assert _text(browser, "pr-break-even-1h") == "1.11 reads"  # (2 - 1) / 0.9
    _shot(browser, "prices")
    # The provider picks from the catalogue, and the models offered are that provider's only;
    # Gemini 2.5 Pro's long-context tier is shown.
    _choose(browser, "pr-provider", "google")
    catalogue = PriceBook().models()
    browser.find_element("id", "pr-model").click()
    # Opened, the dropdown's search box has the focus.
    wait(browser, lambda d: d.switch_to.active_element.tag_name == "input")
    browser.switch_to.active_element.send_keys("gemini-2.5-p")
    option = wait(
        browser,
        lambda d: next(
            (o for o in d.find_elements("css selector", OPTIONS) if o.text == "gemini-2.5-pro"),
            None,
        ),
    )
    offered = [o.text for o in browser.find_elements("css selector", OPTIONS)]
    assert set(offered) <= set(catalogue["google"]) and "gemini-2.5-pro" in offered
    option.click()
    tiers = _text(browser, "pr-tiers")
    assert "above 200,000 input tokens" in tiers and "2.5 USD/MTok" in tiers


def test_login_required_and_tenant_scoped(
    engine: Engine, live_server: str, browser: Any, seeded: dict[str, str]
) -> None:
    browser.get(f"{live_server}/dashboard/spend?range=30d")
    wait(browser, lambda d: "/dashboard/login" in d.current_url)
    browser.find_element("id", "key").send_keys("cm_not-a-key")
    browser.find_element("id", "sign-in").click()
    assert "not valid" in wait(browser, lambda d: d.find_element("css selector", ".error").text)
    _login(browser, live_server, seeded["other"])
    assert _text(browser, "card-requests") == "0"  # globex sees none of acme's traffic
    assert "tenant: globex" in browser.find_element("id", "who").text


def test_ingest_health_lists_rejections_by_source(
    engine: Engine, live_url: str, browser: Any
) -> None:
    import httpx

    _, key = tenant_with_key(engine, "acme")
    _, other = tenant_with_key(engine, "globex")
    auth = {"Authorization": f"Bearer {key}"}
    now = datetime.now(UTC)
    # OpenAI's prompt_tokens includes the cached ones: 200 cached of 100 cannot be.
    bad = {
        "provider": "openai",
        "model": "gpt-4o",
        "usage": {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 200}},
    }
    good = anthropic_record(request_id="good", occurred_at=now.isoformat())
    answer = httpx.post(f"{live_url}/v1/usage", json={"records": [good, bad]}, headers=auth)
    assert answer.json()["accepted"] == 1 and len(answer.json()["rejected"]) == 1
    span = {
        "spanId": "0a0b0c0d0e0f0102",
        "startTimeUnixNano": str(int(now.timestamp() * 1e9)),
        "attributes": [
            {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "-5"}},
        ],
    }
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    traced = httpx.post(
        f"{live_url}/v1/traces", json=export, headers={**auth, "Content-Type": "application/json"}
    )
    assert traced.json()["partialSuccess"]["rejectedSpans"] == "1"
    # Stored, but no price is known for it: listed with the commands that price it.
    unknown = {
        "request_id": "unpriced",
        "provider": "stepfun",
        "model": "step-nope-1",
        "occurred_at": now.isoformat(),
        "usage": {"prompt_tokens": 5, "completion_tokens": 1},
    }
    assert httpx.post(f"{live_url}/v1/usage", json=unknown, headers=auth).json()["accepted"] == 1
    listed = httpx.get(f"{live_url}/v1/ingest/rejections", headers=auth).json()["unpriced"]
    assert [(u["provider"], u["model"], u["requests"]) for u in listed] == [
        ("stepfun", "step-nope-1", 1)
    ]
    assert listed[0]["fix"].startswith(
        "cachemeter prices add --provider stepfun --model step-nope-1 --input <input per MTok>"
    )
    assert " && cachemeter reprice --start " in listed[0]["fix"]
    # The good record again (a retry: a duplicate), then with other output (a conflict: 409).
    assert httpx.post(f"{live_url}/v1/usage", json=good, headers=auth).json()["duplicates"] == 1
    other_output = {**good, "usage": {**good["usage"], "output_tokens": 99}}
    assert httpx.post(f"{live_url}/v1/usage", json=other_output, headers=auth).status_code == 409

    _login(browser, live_url, key)
    browser.find_element("id", "nav-ingest-health").click()
    wait(browser, lambda d: "/ingest-health" in d.current_url)
    rows = wait(
        browser,
        lambda d: (
            (r := d.find_elements("css selector", "#ih-rejection-table tbody tr"))
            and len(r) == 2
            and r
        ),
    )
    header = [th.text for th in browser.find_elements("css selector", "#ih-rejection-table th")]
    shown = {
        (cells[header.index("source")], cells[header.index("reason")], cells[header.index("count")])
        for cells in ([td.text for td in row.find_elements("tag name", "td")] for row in rows)
    }
    assert shown == {
        ("push", "usage.prompt_tokens:cache_exceeds_input", "1"),
        ("otlp", "usage.gen_ai.usage.input_tokens:negative", "1"),
    }
    errors = browser.find_element("id", "ih-rejection-table").text
    assert "cache read (200) + cache write (0) exceed total input (100)" in errors
    sources = {
        tuple(td.text for td in row.find_elements("tag name", "td")[:2])
        for row in browser.find_elements("css selector", "#ih-source-table tbody tr")
    }
    assert sources == {("push", "1"), ("otlp", "1")}
    assert _text(browser, "ih-rejected") == "2"
    assert _text(browser, "ih-stored") == "2"
    assert _text(browser, "ih-unpriced-count") == "1"
    assert _text(browser, "ih-duplicates") == "1"
    assert _text(browser, "ih-conflicts") == "1"
    # One line per class over the week's hours, each summing to its count (the last point
    # closes the last hour's step: it repeats that hour).
    lines = wait(
        browser,
        lambda d: d.execute_script(
            "const g = document.querySelector('#ih-outcomes .js-plotly-plot');"
            "return g && g.data && g.data.length ? Object.fromEntries(g.data.map("
            "t => [t.name, t.y.slice(0, -1).reduce((a, b) => a + b, 0)])) : null;"
        ),
    )
    assert lines == {
        "rejected · push · usage.prompt_tokens:cache_exceeds_input": 1,
        "rejected · otlp · usage.gen_ai.usage.input_tokens:negative": 1,
        "duplicate · push · retry": 1,
        "conflict · push · usage": 1,
    }
    conflict = browser.find_element("id", "ih-conflict-table").text
    assert "good" in conflict  # the request id
    assert "output_tokens 99 (stored: 10)" in conflict
    unpriced = browser.find_element("id", "ih-unpriced-table").text
    # The same commands (over the page's range: the last 7 days).
    assert listed[0]["fix"].split(" && ")[0] in unpriced and "cachemeter reprice" in unpriced
    _shot(browser, "ingest-health")

    # Another tenant's view has none of them.
    browser.get(f"{live_url}/dashboard/logout")
    _login(browser, live_url, other)
    browser.get(f"{live_url}/dashboard/ingest-health")
    assert "No record was rejected" in _text(browser, "ih-rejection-table")
    assert _text(browser, "ih-rejected") == "0"
    assert (_text(browser, "ih-duplicates"), _text(browser, "ih-conflicts")) == ("0", "0")
    assert "No request id was reused" in _text(browser, "ih-conflict-table")
    assert "Every stored request in this range is priced" in _text(browser, "ih-unpriced-table")


def test_prefixes_ranked_by_money_with_the_small_ones_folded(
    engine: Engine, live_url: str, browser: Any
) -> None:
    now = datetime.now(UTC)
    _, key = tenant_with_key(engine, "acme")
    at = (now - timedelta(minutes=5)).isoformat()
    ingested(engine, prefix_money_records(occurred_at=at), received_at=now)
    _login(browser, live_url, key)
    browser.get(f"{live_url}/dashboard/hit-rate")
    rows = wait(
        browser,
        lambda d: (r := d.find_elements("css selector", "#hit-prefix-table tbody tr")) and r,
    )
    header = [th.text for th in browser.find_elements("css selector", "#hit-prefix-table th")]
    cells = [
        dict(zip(header, (td.text for td in row.find_elements("tag name", "td")), strict=True))
        for row in rows
    ]
    # Savings (Claude Sonnet 4.5 list prices, tests.factories.prefix_money_records): p-read
    # 0.303 - 0.033 = 0.27, p-write 0.123 - 0.153 = -0.03; p-plain (0) and the two tiny ones
    # (0.006 - 0.0033 = 0.0027 each) are under 1% of 0.3054 and fold into one line.
    assert [(c["prefix"], c["savings"]) for c in cells] == [
        ("p-read", "0.27 USD"),
        ("p-write", "-0.03 USD"),
        ("3 other prefixes", "0.01 USD"),
        ("p-unpriced", "n/a"),
    ]
    folded = cells[2]
    assert (folded["cost"], folded["cost without caching"]) == ("0.61 USD", "0.61 USD")
    # Nothing dropped: the lines' requests are the six requests sent.
    assert sum(int(c["requests"]) for c in cells) == 6
    assert "1%" in browser.find_element("id", "hit-prefix-note").text


def test_regressions_on_screen(
    engine: Engine, live_server: str, browser: Any, seeded: dict[str, str]
) -> None:
    """The demo's code-reviewer collapse is called out on the overview, marked on its chart
    with cause and cost, and listed on the Regressions page; each against the table."""
    _login(browser, live_server, seeded["key"])
    week = _week()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT app, model, kind, scope, cause, closed_at,"
                " details->>'cost_per_day' AS cost, details->>'currency' AS currency"
                " FROM regressions"
                " WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')"
                " AND opened_at < :end AND (closed_at IS NULL OR closed_at >= :start)"
                " ORDER BY closed_at IS NOT NULL, opened_at DESC"
            ),
            week,
        ).all()
    open_wide = [r for r in rows if r.closed_at is None and r.scope == "app_model"]
    assert open_wide, "the demo leaves its code-reviewer regression open"
    callout = _text(browser, "overview-open-regressions")
    plural = "s" if len(open_wide) > 1 else ""
    assert callout.startswith(f"{len(open_wide)} open regression{plural}")
    for r in open_wide:
        cost = f"{Decimal(r.cost):,.2f} {r.currency}/day"
        assert f"{r.app} / {r.model}" in callout and r.cause.replace("_", " ") in callout
        assert f"costs {cost}" in callout
    marks = wait(
        browser,
        lambda d: d.execute_script(
            "const g = document.querySelector('#overview-hit .js-plotly-plot');"
            "return g && g.layout ? (g.layout.annotations || []).map(a => a.text) : null;"
        ),
    )
    # The hit-rate chart marks hit-rate regressions (cached-TTFT ones are on the page below).
    for r in (r for r in rows if r.scope == "app_model" and r.kind == "hit_rate"):
        text_ = f"▼ {r.app}: {r.cause.replace('_', ' ')}"
        if r.cost is not None:
            text_ += f", {Decimal(r.cost):,.2f} {r.currency}/day"
        assert text_ in marks
    # Plotly's tool bar shows on hover only (it would sit over the markers' labels).
    assert browser.execute_script(
        "return document.querySelectorAll('#overview-hit .modebar.modebar--hover').length"
    )

    browser.find_element("id", "nav-regressions").click()
    wait(browser, lambda d: d.find_elements("css selector", "#rg-regressions tbody tr"))
    table_rows = browser.find_elements("css selector", "#rg-regressions tbody tr")
    assert len(table_rows) == len(rows)
    header = [th.text for th in browser.find_elements("css selector", "#rg-regressions thead th")]
    first = [td.text for td in table_rows[0].find_elements("tag name", "td")]
    assert first[header.index("status")] == "open"
    assert first[header.index("app")] == rows[0].app
    if rows[0].cost is not None:
        cost = f"{Decimal(rows[0].cost):,.2f} {rows[0].currency}/day"
        assert first[header.index("cost a day")] == cost
    assert _text(browser, "rg-open") == str(sum(r.closed_at is None for r in rows))
    _shot(browser, "regressions")
    table_rows[0].find_element("link text", "hit rate").click()
    wait(browser, lambda d: "/hit-rate" in d.current_url and f"app={rows[0].app}" in d.current_url)


def test_advice_on_screen(
    engine: Engine, live_server: str, browser: Any, seeded: dict[str, str]
) -> None:
    """The demo's code reviewer puts a timestamp at the top of its prompt the day before the
    last: the Advice page lists the advisor's findings in its order, with its numbers to the
    cent as `money` reads them, each with its recommendation and, unfolded, the why; an app
    or a range with nothing to advise says so."""
    _login(browser, live_server, seeded["key"])
    week = _week()
    tenant = TenantRef(id=_db(engine, "SELECT id FROM tenants WHERE name = 'acme'"), name="acme")
    # The thresholds the server runs with (live_server: the default settings).
    thresholds = advice_settings(Settings())

    def report(app: str | None = None) -> list[dict[str, Any]]:
        with tenant_transaction(engine, tenant.id) as conn:
            found = advice(conn, tenant, week["start"], week["end"], app, thresholds)
        return list(found["findings"])

    def shown() -> list[dict[str, str]]:
        # The finding rows only (each has a detail row beneath it), as header -> text.
        rows = wait(
            browser,
            lambda d: (r := d.find_elements("css selector", "#ad-findings tr.ad-finding")) and r,
        )
        header = [th.text for th in browser.find_elements("css selector", "#ad-findings th")]
        return [
            dict(zip(header, (td.text for td in row.find_elements("tag name", "td")), strict=True))
            for row in rows
        ]

    def expected(findings: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
        return [
            (
                str(rank),
                f["app"],
                money(Decimal(f["monthly_saving"]), f["currency"]),
                f"{f['requests']:,}",
            )
            for rank, f in enumerate(findings, 1)
        ]

    findings = report()
    ours = [f for f in findings if (f["kind"], f["app"]) == ("prefix_changes", "code-review")]
    assert ours, "the demo's code reviewer changes its prompt's start"
    savings = [Decimal(f["monthly_saving"]) for f in findings]
    assert savings == sorted(savings, reverse=True)

    browser.find_element("id", "nav-advice").click()
    cells = shown()
    assert [(c["#"], c["app"], c["saves a month"], c["requests"]) for c in cells] == expected(
        findings
    )
    first = findings[0]
    assert _text(browser, "ad-count") == str(len(findings))
    assert _text(browser, "ad-top") == money(Decimal(first["monthly_saving"]), first["currency"])
    rank = findings.index(ours[0])
    assert cells[rank]["advice"] == "prefix keeps changing"
    assert cells[rank]["provider / model"] == f"{ours[0]['provider']} / {ours[0]['model']}"
    assert cells[rank]["cache key or prefix"] == f"key {ours[0]['prompt_cache_key']}"
    # Beneath its row: the one-sentence recommendation, and the explanation folded away.
    detail = browser.find_elements("css selector", "#ad-findings td.ad-detail")[rank]
    assert detail.find_element("class name", "ad-recommendation").text == ours[0]["recommendation"]
    why = detail.find_element("tag name", "details")
    assert why.get_attribute("open") is None
    why.find_element("tag name", "summary").click()
    wait(browser, lambda d: ours[0]["explanation"] in why.text)
    assert f"would hit: {ours[0]['evidence']['would_hit']:,}" in why.text
    _shot(browser, "advice")

    # The app filter narrows the report as the API's `app` does.
    _choose(browser, "f-app", "code-review")
    wait(browser, lambda d: "app=code-review" in d.current_url)
    narrowed = report("code-review")
    assert narrowed and {f["app"] for f in narrowed} == {"code-review"}
    wait(
        browser,
        lambda d: (
            len(d.find_elements("css selector", "#ad-findings tr.ad-finding")) == len(narrowed)
        ),
    )
    assert [(c["#"], c["app"], c["saves a month"], c["requests"]) for c in shown()] == expected(
        narrowed
    )

    # Nothing to advise: an app of the demo the advisor finds nothing in, and a range with no
    # traffic at all.
    quiet = next(a for a in ("doc-qa", "ticket-classifier", "analytics-agent") if not report(a))
    for query in (f"?app={quiet}", "?start=2020-01-01&end=2020-01-31"):
        browser.get(f"{live_server}/dashboard/advice{query}")
        empty = _text(browser, "ad-findings", lambda t: t.startswith("No advice: "))
        assert f"on at least {thresholds.min_requests:,} requests" in empty
        assert _text(browser, "ad-count") == "0"
        assert not browser.find_elements("css selector", "#ad-findings tr")


def test_one_set_of_numbers_for_a_month(
    engine: Engine, live_server: str, browser: Any, seeded: dict[str, str]
) -> None:
    """The overview's spend, the spend page's total and the statement's total for this month
    agree to the cent, and with SQL: request costs plus explicit-cache storage."""
    _login(browser, live_server, seeded["key"])
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    query = f"?start={first}&end={last}"
    tenant = "(SELECT id FROM tenants WHERE name = 'acme')"
    span = {
        "start": datetime.combine(first, datetime.min.time(), UTC),
        "end": datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC),
    }
    total = _db(
        engine,
        f"SELECT coalesce(sum(cost), 0) FROM usage_events WHERE tenant_id = {tenant}"
        " AND occurred_at >= :start AND occurred_at < :end",
        **span,
    ) + _db(
        engine,
        f"SELECT coalesce(sum(cost_storage), 0) FROM cache_objects WHERE tenant_id = {tenant}"
        " AND created_at >= :start AND created_at < :end",
        **span,
    )
    assert total > 0
    cents = f"{total.quantize(Decimal('0.01')):,} USD"

    browser.get(f"{live_server}/dashboard/{query}")
    assert _text(browser, "card-spend", lambda t: t == cents) == cents
    browser.get(f"{live_server}/dashboard/spend{query}")
    assert _text(browser, "spend-total", lambda t: t == cents) == cents
    browser.get(f"{live_server}/dashboard/statements")
    wait(browser, lambda d: d.find_elements("css selector", "#st-data tbody tr"))
    header = [th.text for th in browser.find_elements("css selector", "#st-data thead th")]
    last_row = browser.find_elements("css selector", "#st-data tbody tr")[-1]
    cells = last_row.find_elements("tag name", "td")
    assert cells[0].text == "TOTAL"
    assert cells[header.index("cost")].text == cents


def test_times_of_day_and_the_browsers_time_zone(
    engine: Engine, live_server: str, browser: Any, seeded: dict[str, str]
) -> None:
    """In a browser in Kolkata (UTC+5:30), the zone switch offers local time; chosen, charts
    read on Kolkata's clock; times of day typed under the dates narrow the range to them."""
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Kolkata"})
    _login(browser, live_server, seeded["key"])
    local = wait(
        browser,
        lambda d: next(
            (
                label
                for label in d.find_elements("css selector", "#f-tz label")
                if label.text.startswith("local (")
            ),
            None,
        ),
    )
    # Chromium names the zone by its older IANA name, Asia/Calcutta: the same rules.
    zone = local.text.removeprefix("local (").removesuffix(")")
    assert zone in ("Asia/Kolkata", "Asia/Calcutta")
    kolkata = ZoneInfo(zone)
    local.click()
    wait(browser, lambda d: f"tz={zone.replace('/', '%2F')}" in d.current_url)
    week = _week()
    # The chart's buckets are the hours with requests or with explicit caches created (their
    # storage is part of the hour's savings).
    first_hour = _db(
        engine,
        "SELECT min(h) FROM (SELECT date_trunc('hour', occurred_at, 'UTC') AS h"
        " FROM usage_events WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')"
        " AND occurred_at >= :start AND occurred_at < :end"
        " UNION ALL SELECT date_trunc('hour', created_at, 'UTC') FROM cache_objects"
        " WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')"
        " AND created_at >= :start AND created_at < :end) AS hours",
        **week,
    )
    # The chart's first hour is the first hour of traffic on Kolkata's clock (a :30 time).
    expected = first_hour.astimezone(kolkata).strftime("%Y-%m-%d %H:%M")
    axis = wait(
        browser,
        lambda d: d.execute_script(
            "const g = document.querySelector('#overview-hit .js-plotly-plot');"
            "return g && g.data && g.data.length && g.layout.xaxis.title.text === "
            f"'hour ({zone})' ? String(g.data[0].x[0]) : null;"
        ),
    )
    assert axis.replace("T", " ").startswith(expected)

    # 06:00 on the picker's first day to 18:00 on its last, Kolkata time.
    # The picker shows the days the last 7 days touch on Kolkata's clock.
    first_day = week["start"].astimezone(kolkata).date().isoformat()
    last_day = (week["end"] - timedelta(microseconds=1)).astimezone(kolkata).date().isoformat()
    picked = (
        lambda d: d.find_element("id", "f-dates").get_attribute("value"),
        lambda d: d.find_element("css selector", ".dash-datepicker-end-date").get_attribute(
            "value"
        ),
    )
    wait(browser, lambda d: (picked[0](d), picked[1](d)) == (first_day, last_day))
    # Fields wide enough for what they take, "HH:MM" (Dash's input box would shrink to a line).
    for field in ("f-start-time", "f-end-time"):
        assert browser.find_element("id", field).size["width"] >= 60
    browser.find_element("id", "f-start-time").send_keys("06:00", Keys.ENTER)
    browser.find_element("id", "f-end-time").send_keys("18:00", Keys.ENTER)
    wait(browser, lambda d: f"start={first_day}T06%3A00" in d.current_url)
    wait(browser, lambda d: f"end={last_day}T18%3A00" in d.current_url)
    # Usage is kept by the UTC hour: 06:00 and 18:00 in Kolkata are 00:30 and 12:30 UTC, so
    # the view is the hours from 00:00 to 13:00 UTC (05:30 to 18:30 there), and says so.
    asked = [
        datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=kolkata).astimezone(UTC)
        for day, clock in ((first_day, "06:00"), (last_day, "18:00"))
    ]
    span = {
        "start": asked[0].replace(minute=0),
        "end": asked[1].replace(minute=0) + timedelta(hours=1),
    }
    assert "05:30" in _text(browser, "f-rounded") and "18:30" in _text(browser, "f-rounded")
    requests = _db(
        engine,
        "SELECT count(*) FROM usage_events"
        " WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'acme')"
        " AND occurred_at >= :start AND occurred_at < :end",
        **span,
    )
    assert _text(browser, "card-requests", lambda t: t == f"{requests:,}") == f"{requests:,}"
    # The link keeps the range and the zone: reopened, it shows the same times.
    browser.get(browser.current_url)
    wait(browser, lambda d: d.find_element("id", "f-start-time").get_attribute("value") == "06:00")
    assert browser.find_element("id", "f-end-time").get_attribute("value") == "18:00"
