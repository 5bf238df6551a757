"""The Dash app: nine pages behind an API-key login, filters kept in the URL.

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
    UTC_ZONE,
    bar,
    date_range,
    filters_from,
    ignored_filters,
    parse_query,
    range_values,
    rounded_note,
    to_query,
)
from dashboard.pages import (
    advice,
    hitrate,
    ingest_health,
    latency,
    overview,
    prices,
    regressions,
    spend,
    statements,
)
from reports.advice import AdviceSettings
from store.analytics import dimension_values
from store.models import DIMENSIONS

PAGES = (overview, hitrate, regressions, advice, latency, spend, statements, prices, ingest_health)


def create_dashboard(
    engine: Engine,
    prefix: str = "/dashboard/",
    secret_key: str | None = None,
    sessions: auth.SessionPolicy | None = None,
    advice: AdviceSettings | None = None,
) -> Dash:
    """The dashboard served under `prefix`; session cookies are signed with `secret_key` and
    sessions last as `sessions` says (12 hours idle, 7 days at most, by default); the Advice
    page shows findings that reach the `advice` thresholds (the advisor's defaults if none)."""
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
    context = Context(engine, advice or AdviceSettings())
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

    # The browser's time zone, which only the browser knows, joins the switch's choices.
    app.clientside_callback(  # type: ignore[no-untyped-call]
        """function(_, current) {
            const local = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
            const zones = ["UTC", local, current].filter((z, i, all) => z && all.indexOf(z) === i);
            const label = z => (z === local && z !== "UTC" ? `local (${z})` : z);
            return zones.map(z => ({label: label(z), value: z}));
        }""",
        Output("f-tz", "options"),
        Input("f-tz", "id"),
        State("f-tz", "value"),
    )

    @app.callback(
        Output("f-rounded", "children"),
        Output("f-rounded", "style"),
        Input("url", "search"),
        prevent_initial_call=True,
    )
    def rounded(search: str | None) -> tuple[str, dict[str, str] | None]:
        note = rounded_note(parse_query(search))
        return note or "", None if note else {"display": "none"}

    @app.callback(
        Output("f-dates", "start_date"),
        Output("f-dates", "end_date"),
        Output("f-start-time", "value"),
        Output("f-end-time", "value"),
        Input("f-range", "value"),
        Input("f-tz", "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def preset(range_value: str | None, zone: str | None, search: str | None) -> tuple[str, ...]:
        # A preset chosen shows its days in the zone; a zone chosen, the days of the preset in
        # effect (a custom range keeps its dates and times, read in the new zone).
        custom = "start" in parse_query(search)
        if range_value not in PRESETS or (ctx.triggered_id == "f-tz" and custom):
            raise PreventUpdate
        first, last = date_range({"range": range_value, "tz": zone}, context.now())
        return first.isoformat(), last.isoformat(), "", ""

    @app.callback(
        Output("url", "search"),
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
        Input("f-start-time", "value"),
        Input("f-end-time", "value"),
        Input("f-tz", "value"),
        *[Input(f"f-{d}", "value") for d in DIMENSIONS],
        State("f-range", "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def remember(*inputs: Any) -> str:
        start, end, start_time, end_time, zone, *dims, range_value, search = inputs
        values: dict[str, Any] = dict(zip(DIMENSIONS, dims, strict=True))
        if zone and zone != UTC_ZONE:
            values["tz"] = zone
        chosen = range_values(start, end, start_time, end_time)
        current = parse_query(search)
        preset_days = (
            date_range({"range": range_value, **values}, context.now())
            if range_value in PRESETS
            else None
        )
        if ctx.triggered_id == "f-tz":
            # The range stays what it was; only the zone it is read in changes.
            values.update({k: current[k] for k in ("range", "start", "end") if k in current})
        elif preset_days and chosen == {
            "start": preset_days[0].isoformat(),
            "end": preset_days[1].isoformat(),
        }:
            values["range"] = range_value
        else:
            values.update(chosen)
        query = to_query(values)
        if query == (search or "") or ctx.triggered_id is None:
            raise PreventUpdate
        return query

    for page in PAGES:
        page.register(app, context)
    return app
