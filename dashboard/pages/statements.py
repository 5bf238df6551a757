"""Statements: the month's finance statement as a table, with a CSV download."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard.context import Context
from dashboard.errors import choice
from dashboard.pages.common import table
from reports.formatting import money
from reports.statement import (
    MONEY_COLUMNS,
    SUMMARY_COLUMNS,
    StatementError,
    statement,
    statement_csv,
)
from store.statement import STATEMENT_GROUPS

PATH, TITLE, NAME = "/statements", "Statements", "statements"
# The filter bar is hidden: the month control is the range, and the statement covers all usage.
FILTERS = "none"


def _months() -> list[str]:
    now = datetime.now(UTC)
    months = []
    year, month = now.year, now.month
    for _ in range(13):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


def layout(values: dict[str, str]) -> html.Div:
    """Month, grouping and currency controls; the table; a CSV button."""
    months = _months()
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.Label("Month", htmlFor="st-month"),
                            dcc.Dropdown(
                                id="st-month", options=months, value=months[0], clearable=False
                            ),
                        ],
                        className="filter",
                    ),
                    html.Div(
                        [
                            html.Label("Group by", htmlFor="st-group"),
                            dcc.Dropdown(
                                id="st-group",
                                options=list(STATEMENT_GROUPS),
                                value="team",
                                clearable=False,
                            ),
                        ],
                        className="filter",
                    ),
                    html.Div(
                        [
                            html.Label("Reporting currency", htmlFor="st-currency"),
                            dcc.Input(
                                id="st-currency",
                                placeholder="as charged",
                                maxLength=3,
                                debounce=True,
                            ),
                        ],
                        className="filter",
                    ),
                    html.Button(
                        "Download CSV", id="st-download-button", style={"alignSelf": "end"}
                    ),
                    dcc.Download(id="st-download"),
                ],
                className="filter-bar",
            ),
            html.P(
                "The statement covers the whole month (UTC) for all of the tenant's usage.",
                className="note",
            ),
            html.Div(id="st-table", className="panel"),
        ]
    )


# Headers people read (the CSV keeps the field names).
HEADERS = {
    "group": "group",
    "requests": "requests",
    "cost_uncached_input": "uncached input",
    "cost_cache_read": "cache reads",
    "cost_cache_write_5m": "cache writes 5m",
    "cost_cache_write_1h": "cache writes 1h",
    "cost_output": "output",
    "cost_tool_fees": "tool fees",
    "cost_storage": "cache storage",
    "cost": "cost",
    "nocache_cost": "cost without caching",
    "savings": "savings",
    "effective_discount_pct": "saved",
    "write_premium": "write premium",
}


def _cell(column: str, value: Any, currency: str) -> str:
    """A statement value as people read it: money to the cent with its currency (the CSV
    download keeps every digit), counts with separators, the discount as a per cent."""
    if value is None:
        return ""
    if column in MONEY_COLUMNS:
        return money(value, currency)
    if column == "effective_discount_pct":
        return f"{Decimal(value):.1f}%"
    if column == "requests":
        return f"{int(value):,}"
    return str(value)


def _statement(
    context: Context, month: str | None, group: str, currency: str | None
) -> dict[str, Any]:
    with context.connect() as conn:
        return statement(
            conn, context.tenant_id(), month or "", group, (currency or "").upper() or None
        )


def register(app: Dash, context: Context) -> None:
    """The table callback and the CSV download."""

    @app.callback(
        Output("st-table", "children"),
        Input("st-month", "value"),
        Input("st-group", "value"),
        Input("st-currency", "value"),
    )
    def update(month: str | None, group: str | None, currency: str | None) -> Any:
        group = choice(group, STATEMENT_GROUPS, "st-group")
        try:
            body = _statement(context, month, group, currency)
        except StatementError as exc:
            return html.Div(str(exc), className="note", id="st-error")
        rows = [
            [_cell(c, line[c], body["currency"]) for c in SUMMARY_COLUMNS]
            for line in [*body["lines"], body["total"]]
        ]
        header = [HEADERS[c] for c in SUMMARY_COLUMNS]
        return html.Div(
            [
                html.P(
                    f"{body['month']} by {body['group_by']}, in {body['currency']}",
                    className="note",
                ),
                table("st-data", header, rows if body["lines"] else [], "No usage in this month."),
            ]
        )

    @app.callback(
        Output("st-download", "data"),
        Input("st-download-button", "n_clicks"),
        State("st-month", "value"),
        State("st-group", "value"),
        State("st-currency", "value"),
        prevent_initial_call=True,
    )
    def download(
        clicks: int | None, month: str | None, group: str | None, currency: str | None
    ) -> Any:
        if not clicks:
            raise PreventUpdate
        group = choice(group, STATEMENT_GROUPS, "st-group")
        try:
            body = _statement(context, month, group, currency)
        except StatementError:
            raise PreventUpdate from None
        return {"content": statement_csv(body), "filename": f"statement-{month}-{group}.csv"}
