"""The Dash app: eight pages behind an API-key login, filters kept in the URL.

Pages read the database only through `store` query functions, in callbacks (never at import).
"""

from __future__ import annotations

import secrets
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from sqlalchemy import Engine

from dashboard import auth, errors
from dashboard.context import Context
from dashboard.filters import (
    PRESETS,
    bar,
    date_range,
    filters_from,
    ignored_filters,
    parse_query,
    to_query,
)
from dashboard.pages import (
    hitrate,
    ingest_health,
    latency,
    overview,
    prices,
    regressions,
    spend,
    statements,
)
from store.analytics import dimension_values
from store.models import DIMENSIONS

PAGES = (overview, hitrate, regressions, latency, spend, statements, prices, ingest_health)


def create_dashboard(
    engine: Engine,
    prefix: str = "/dashboard/",
    secret_key: str | None = None,
    sessions: auth.SessionPolicy | None = None,
) -> Dash:
    """The dashboard served under `prefix`; session cookies are signed with `secret_key` and
    sessions last as `sessions` says (12 hours idle, 7 days at most, by default)."""
    app = Dash(
        __name__,
        requests_pathname_prefix=prefix,
        title="cachemeter",
        suppress_callback_exceptions=True,
        update_title="cachemeter",
    )
    auth.install(app.server, engine, prefix, secret_key or secrets.token_hex(32), sessions)
    # After the sign-in check: a request that is not signed in is a 401 whatever its body.
    errors.install(app.server, app.callback_map)
    context = Context(engine)
    paths = {page.PATH: page for page in PAGES}

    app.layout = html.Div(
        [
            dcc.Location(id="url", refresh=False),
            html.Div(
                [
                    html.H1("cachemeter"),
                    html.Div(id="nav", className="nav"),
                    html.Div(id="who", className="note", style={"marginLeft": "auto"}),
                    html.A("sign out", href=f"{prefix}logout", className="note"),
                ],
                className="top",
            ),
            html.Div([html.Div(id="filters"), html.Div(id="page")], className="main"),
        ]
    )

    def relative(path: str) -> str:
        return path[len(prefix) - 1 :] if path.startswith(prefix) else path

    @app.callback(
        Output("nav", "children"),
        Output("who", "children"),
        Input("url", "pathname"),
        Input("url", "search"),
    )
    def navigation(pathname: str | None, search: str | None) -> tuple[list[Any], str]:
        current = relative(pathname or prefix)
        tenant = auth.current_tenant()
        links = [
            dcc.Link(
                page.TITLE,
                href=f"{prefix.rstrip('/')}{page.PATH}{search or ''}",
                className="active" if current == page.PATH else "",
                id=f"nav-{page.NAME}",
            )
            for page in PAGES
        ]
        return links, f"tenant: {tenant[1]}" if tenant else ""

    @app.callback(
        Output("page", "children"),
        Output("filters", "children"),
        Input("url", "pathname"),
        State("url", "search"),
    )
    def route(pathname: str | None, search: str | None) -> tuple[Any, Any]:
        page = paths.get(relative(pathname or prefix))
        if page is None:
            return html.Div(["No such page. ", dcc.Link("Back to the overview", href=prefix)]), None
        values = parse_query(search)
        now = context.now()
        view = filters_from(values, now)
        with context.connect() as conn:
            options = dimension_values(conn, context.tenant_id(), view.start, view.end)
        uses = getattr(page, "FILTERS", "all")
        return page.layout(values), bar(values, options, now, ignored_filters(search), uses)

    @app.callback(
        Output("f-dates", "start_date"),
        Output("f-dates", "end_date"),
        Input("f-range", "value"),
        prevent_initial_call=True,
    )
    def preset(range_value: str | None) -> tuple[str, str]:
        if range_value not in PRESETS:
            raise PreventUpdate
        first, last = date_range({"range": range_value}, context.now())
        return first.isoformat(), last.isoformat()

    @app.callback(
        Output("url", "search"),
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
        *[Input(f"f-{d}", "value") for d in DIMENSIONS],
        State("f-range", "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def remember(start: str | None, end: str | None, *rest: Any) -> str:
        *dims, range_value, search = rest
        values: dict[str, Any] = dict(zip(DIMENSIONS, dims, strict=True))
        preset_days = (
            date_range({"range": range_value}, context.now()) if range_value in PRESETS else None
        )
        chosen = (start[:10], end[:10]) if start and end else None
        if preset_days and chosen == (preset_days[0].isoformat(), preset_days[1].isoformat()):
            values["range"] = range_value
        elif chosen:
            values.update(start=chosen[0], end=chosen[1])
        query = to_query(values)
        if query == (search or "") or ctx.triggered_id is None:
            raise PreventUpdate
        return query

    for page in PAGES:
        page.register(app, context)
    return app
