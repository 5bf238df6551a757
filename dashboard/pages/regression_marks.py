"""Regressions as the pages show them: markers on time charts, one line of text each, and the
link to the hit-rate view of a regression's app and model."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from dashboard.filters import UTC_ZONE, to_query
from reports.formatting import money
from store.analytics import Filters

RED = "#b8455b"
# The filters a regression's key can be matched against (cache keys have no filter).
MATCHED = ("provider", "model", "app")


def in_view(regression: dict[str, Any], f: Filters) -> bool:
    """The regression concerns what the view's filters select."""
    return all(getattr(f, d) in (None, regression[d]) for d in MATCHED)


def cost_text(regression: dict[str, Any]) -> str:
    """ "17.88 USD/day", or "" when the regression has no known cost."""
    if regression.get("cost_per_day") is None:
        return ""
    # A total: 2 decimals, as the webhook says it (the API keeps full precision).
    return f"{money(regression['cost_per_day'], regression['currency'])}/day"


def kind_text(regression: dict[str, Any]) -> str:
    """What regressed, in words."""
    return "hit rate" if regression["kind"] == "hit_rate" else "cached TTFT"


def _cause(regression: dict[str, Any]) -> str:
    return str(regression["cause"]).replace("_", " ")


def cause_text(regression: dict[str, Any]) -> str:
    """The likely cause in words, and whose word it is."""
    cause = _cause(regression)
    source = (regression.get("details") or {}).get("cause_source")
    return f"{cause} (provider's diagnosis)" if source == "provider" else cause


def marker_text(regression: dict[str, Any]) -> str:
    """ "▼ code-review: prefix changed, 17.88 USD/day"."""
    text = f"▼ {regression['app'] or '(no app)'}: {_cause(regression)}"
    cost = cost_text(regression)
    return f"{text}, {cost}" if cost else text


def mark(figure: go.Figure, regressions: list[dict[str, Any]], f: Filters) -> None:
    """A dotted red line where each app-wide hit-rate regression in the view opened, labelled
    with its cause and cost a day."""
    for regression in regressions:
        if regression["kind"] != "hit_rate" or regression["scope"] != "app_model":
            continue
        if not in_view(regression, f):
            continue
        figure.add_vline(x=regression["opened_at"], line={"color": RED, "dash": "dot"})
        figure.add_annotation(
            x=regression["opened_at"],
            y=1.0,
            yref="paper",
            showarrow=False,
            yanchor="bottom",
            text=marker_text(regression),
            font={"color": RED, "size": 11},
        )


def hit_rate_query(regression: dict[str, Any], zone: str = UTC_ZONE) -> str:
    """The query string of the hit-rate view of the regression's provider, model and app,
    from the day before it opened to the day after (or to its close, if later), in the days
    and the time zone of the view it is linked from."""
    local = ZoneInfo(zone)
    opened = datetime.fromisoformat(regression["opened_at"]).astimezone(local)
    closed = regression.get("closed_at")
    last = max(
        opened + timedelta(days=1),
        datetime.fromisoformat(closed).astimezone(local) if closed else opened,
    )
    return to_query(
        {
            "start": (opened - timedelta(days=1)).date().isoformat(),
            "end": last.date().isoformat(),
            **{d: regression[d] or None for d in MATCHED},
            "tz": zone if zone != UTC_ZONE else None,
        }
    )
