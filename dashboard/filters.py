"""The filter bar every page shares, and its round trip through the URL query string."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from dash import dcc, html

from store.analytics import Filters
from store.models import DIMENSIONS

PRESETS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90}
DEFAULT_PRESET = "7d"


# The days a view may start and end on: dates Python and Postgres both hold with room for the
# previous equal range (the comparison cards), well beyond any usage.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _query(search: str | None) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v and v[0]}


def parse_query(search: str | None) -> dict[str, str]:
    """?a=1&b=2 -> {"a": "1", "b": "2"} (first value of each). A value with a NUL character is
    left out: no stored text holds one (Postgres text cannot), so it could match nothing."""
    return {k: v for k, v in _query(search).items() if "\x00" not in v}


def _explicit_days(values: dict[str, str]) -> tuple[date, date] | None:
    """The view's start and end days when both are dates in bounds, in order."""
    try:
        first, last = date.fromisoformat(values["start"]), date.fromisoformat(values["end"])
    except (KeyError, ValueError):
        return None
    return (first, last) if FIRST_DAY <= first <= last <= LAST_DAY else None


def ignored_filters(search: str | None) -> list[str]:
    """What of the URL's filters the view ignores, and why (shown under the filter bar)."""
    notes = [
        f"{name}: a NUL character is not allowed"
        for name, value in _query(search).items()
        if "\x00" in value
    ]
    values = parse_query(search)
    if ("start" in values or "end" in values) and _explicit_days(values) is None:
        notes.append(
            f"start and end: two dates from {FIRST_DAY} to {LAST_DAY}, the first not after"
            " the last (the range preset applies)"
        )
    return notes


def to_query(values: dict[str, Any]) -> str:
    """The query string for filter values, empty ones left out."""
    query = urlencode({k: v for k, v in values.items() if v not in (None, "", [])})
    return f"?{query}" if query else ""


def date_range(values: dict[str, str], today: date) -> tuple[date, date]:
    """The inclusive [first, last] days of a view: explicit dates, else the preset."""
    explicit = _explicit_days(values)
    if explicit is not None:
        return explicit
    days = PRESETS.get(values.get("range", DEFAULT_PRESET), PRESETS[DEFAULT_PRESET])
    return today - timedelta(days=days - 1), today


def filters_from(values: dict[str, Any], today: date) -> Filters:
    """Store filters for the values of the bar: [first day 00:00, day after last) in UTC."""
    first, last = date_range({k: v for k, v in values.items() if isinstance(v, str)}, today)
    return Filters(
        start=datetime.combine(first, time(), UTC),
        end=datetime.combine(last + timedelta(days=1), time(), UTC),
        **{d: values.get(d) or None for d in DIMENSIONS},
    )


def previous(f: Filters) -> Filters:
    """The equal range just before `f`."""
    span = f.end - f.start
    return Filters(f.start - span, f.start, f.provider, f.model, f.app, f.team, f.environment)


def bar(
    values: dict[str, str],
    options: dict[str, list[str]],
    today: date,
    ignored: Sequence[str] = (),
) -> html.Div:
    """The filter bar, filled from the URL's values, with a note on the filters ignored."""
    first, last = date_range(values, today)
    dropdowns = [
        html.Div(
            [
                html.Label(d.capitalize(), htmlFor=f"f-{d}"),
                dcc.Dropdown(
                    id=f"f-{d}",
                    options=options.get(d, []),
                    value=values.get(d),
                    placeholder=f"all {d}s",
                    clearable=True,
                ),
            ],
            className="filter",
        )
        for d in DIMENSIONS
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.Label("Range", htmlFor="f-range"),
                    dcc.Dropdown(
                        id="f-range",
                        options=[{"label": k, "value": k} for k in PRESETS],
                        value=values.get("range", DEFAULT_PRESET)
                        if "start" not in values
                        else None,
                        placeholder="custom",
                        clearable=False,
                    ),
                ],
                className="filter",
            ),
            html.Div(
                [
                    html.Label("Dates (UTC)"),
                    dcc.DatePickerRange(
                        id="f-dates",
                        start_date=first.isoformat(),
                        end_date=last.isoformat(),
                        display_format="YYYY-MM-DD",
                    ),
                ],
                className="filter dates",
            ),
            *dropdowns,
            *(
                [html.P(f"Ignored {'; '.join(ignored)}.", id="f-ignored", className="note")]
                if ignored
                else []
            ),
        ],
        className="filter-bar",
    )
