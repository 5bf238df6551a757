"""Prices: the stored catalogue in force with its sources, and a break-even calculator."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dash import Dash, Input, Output, State, dcc, html

from billing import PriceNotFound, Rates
from billing.charge import money_text
from billing.economics import break_even_reads
from billing.price import Tier
from dashboard.auth import current_tenant
from dashboard.context import Context
from dashboard.pages.common import table
from store.prices import list_prices, load_price_book

PATH, TITLE, NAME = "/prices", "Prices", "prices"
# The filter bar is hidden: prices are not a view of usage.
FILTERS = "none"


def layout(values: dict[str, str]) -> html.Div:
    """The catalogue table and the calculator."""
    return html.Div(
        [
            html.Div(
                [
                    html.H3("Break-even calculator"),
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Label("Provider", htmlFor="pr-provider"),
                                    # The value's option is there from the start (the
                                    # rest come from the catalogue): a dropdown may drop a
                                    # value its options do not hold yet.
                                    dcc.Dropdown(
                                        id="pr-provider",
                                        value="anthropic",
                                        options=["anthropic"],
                                        clearable=False,
                                    ),
                                ],
                                className="filter",
                            ),
                            html.Div(
                                [
                                    html.Label("Model", htmlFor="pr-model"),
                                    dcc.Dropdown(
                                        id="pr-model",
                                        value="claude-sonnet-4-5",
                                        options=["claude-sonnet-4-5"],
                                    ),
                                ],
                                className="filter",
                            ),
                        ],
                        className="filter-bar",
                    ),
                    html.Div(id="pr-result"),
                ],
                className="panel",
            ),
            html.Div(
                [
                    html.H3("Catalogue and negotiated prices stored in cachemeter"),
                    html.P(
                        "Models not listed here are priced from the genai-prices data"
                        " (the list price).",
                        className="note",
                    ),
                    html.Div(id="pr-catalogue"),
                ],
                className="panel",
            ),
        ]
    )


def calculator(context: Context, provider: str | None, model: str | None) -> Any:
    """The price in force for a model, where it comes from, and its break-even reads."""
    if not provider or not model:
        return html.Div("Choose a provider and a model.", className="note")
    tenant = current_tenant()
    now = datetime.now(UTC)
    with context.connect() as conn:
        book = load_price_book(conn)
    why = book.trace(provider, model, now, tenant[1] if tenant else None)
    try:
        price = book.resolve(provider, model, now, tenant[1] if tenant else None)
    except PriceNotFound as exc:
        return html.Div(
            [
                html.P(exc.reason, id="pr-unpriced", className="note"),
                html.Ul([html.Li(w) for w in why]),
            ]
        )
    rates: Rates = price.rates
    write = rates.cache_write / rates.input if rates.input else None
    read = rates.cache_read / rates.input if rates.input else None
    five = break_even_reads(rates)
    hour = break_even_reads(rates, one_hour=True)
    rows = [
        (
            name,
            f"{money_text(value)} {price.currency}/MTok",
            f"{value / rates.input:.2f}x input" if rates.input else "",
        )
        for name, value in (
            ("input", rates.input),
            ("cache read", rates.cache_read),
            ("cache write 5m", rates.cache_write),
            ("cache write 1h", rates.cache_write_1h),
            ("output", rates.output),
        )
    ]
    return html.Div(
        [
            html.P(
                f"{price.provider}/{price.model}: {price.source} ({price.ref or 'catalogue'})",
                id="pr-source",
            ),
            table("pr-rates", ["", "price", "multiple"], rows, ""),
            *_tiers(price.tiers, price.currency),
            html.P(
                [
                    html.B("Break-even: "),
                    html.Span(_reads(five), id="pr-break-even"),
                    " per 5-minute write, ",
                    html.Span(_reads(hour), id="pr-break-even-1h"),
                    " per 1-hour write ",
                    f"(w = {_num(write)}, r = {_num(read)}: (w - 1) / (1 - r)).",
                ]
            ),
            html.Details([html.Summary("why this price"), html.Ul([html.Li(w) for w in why])]),
        ]
    )


def _tiers(tiers: tuple[Tier, ...], currency: str) -> list[Any]:
    """The long-context tiers of a price: from which total input each applies, its rates."""
    if not tiers:
        return []
    rows = [
        (
            f"above {tier.above:,} input tokens",
            *(
                f"{money_text(value)} {currency}/MTok"
                for value in (
                    tier.rates.input,
                    tier.rates.cache_read,
                    tier.rates.cache_write,
                    tier.rates.output,
                )
            ),
        )
        for tier in sorted(tiers, key=lambda t: t.above)
    ]
    return [
        html.P("A request's total input picks the tier for all its tokens:", className="note"),
        table("pr-tiers", ["tier", "input", "cache read", "cache write 5m", "output"], rows, ""),
    ]


def _num(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _reads(value: Decimal | None) -> str:
    if value is None:
        return "never (reads cost as much as input)"
    try:
        return f"{value:.2f} reads"
    except InvalidOperation:
        return "n/a"


def _catalogue_models(context: Context) -> dict[str, list[str]]:
    """Per provider, the models the price book knows (genai-prices and the stored catalogue,
    this tenant's negotiated prices included)."""
    tenant = current_tenant()
    with context.connect() as conn:
        book = load_price_book(conn)
    return book.models(tenant[1] if tenant else None)


def catalogue(context: Context) -> Any:
    """Stored prices that apply to this tenant (catalogue and its own negotiated ones)."""
    tenant = current_tenant()
    with context.connect() as conn:
        prices = [
            p for p in list_prices(conn) if p["tenant"] in (None, tenant[1] if tenant else None)
        ]
    rows = [
        (
            f"{p['provider']}/{p['model']}",
            "negotiated" if p["tenant"] else "catalogue",
            p["currency"],
            f"{p['discount_pct']}% off list" if p["discount_pct"] else p["input_mtok"],
            p["cache_read_mtok"] or "",
            p["cache_write_mtok"] or "",
            p["output_mtok"] or "",
            p["effective_from"] or "",
            p["effective_to"] or "",
            p["note"] or "",
        )
        for p in prices
    ]
    return table(
        "pr-catalogue-table",
        ["model", "layer", "currency", "input", "read", "write", "output", "from", "to", "note"],
        rows,
        "No prices stored: every model uses its genai-prices list price (add one with "
        "`cachemeter prices add`).",
    )


def register(app: Dash, context: Context) -> None:
    """Calculator and catalogue callbacks."""

    @app.callback(Output("pr-provider", "options"), Input("url", "pathname"))
    def providers(pathname: str | None) -> list[str]:
        return sorted(_catalogue_models(context))

    @app.callback(
        Output("pr-model", "options"),
        Output("pr-model", "value"),
        Input("pr-provider", "value"),
        State("pr-model", "value"),
    )
    def models(provider: str | None, current: str | None) -> tuple[list[str], str | None]:
        # The chosen provider's models only: a model of another provider has no price there.
        options = _catalogue_models(context).get(provider or "", [])
        return options, current if current in options else (options[0] if options else None)

    @app.callback(
        Output("pr-result", "children"), Input("pr-provider", "value"), Input("pr-model", "value")
    )
    def result(provider: str | None, model: str | None) -> Any:
        return calculator(context, provider, model)

    @app.callback(Output("pr-catalogue", "children"), Input("url", "pathname"))
    def stored(pathname: str | None) -> Any:
        return catalogue(context)
