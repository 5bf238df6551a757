"""The filter bar every page shares, and its round trip through the URL query string."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from dash import dcc, html

from store.analytics import Filters
from store.models import DIMENSIONS

# The last N hours or days, up to the end of the current hour (the hour under way included).
PRESETS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_PRESET = "7d"
# Charts show hours up to a week (the rollups are hourly), days beyond.
HOURLY_UP_TO = timedelta(days=7)


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


def preset_span(name: str | None, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a preset: the last N hours or days to the end of the current hour."""
    span = PRESETS.get(name or DEFAULT_PRESET, PRESETS[DEFAULT_PRESET])
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - span, end


def date_range(values: dict[str, str], now: datetime) -> tuple[date, date]:
    """The inclusive [first, last] days of a view: explicit dates, else the days the preset
    touches (what the date picker shows)."""
    explicit = _explicit_days(values)
    if explicit is not None:
        return explicit
    start, end = preset_span(values.get("range"), now)
    return start.date(), (end - timedelta(microseconds=1)).date()


def filters_from(values: dict[str, Any], now: datetime) -> Filters:
    """Store filters for the values of the bar: explicit dates are whole UTC days [first 00:00,
    day after last); a preset is its last N hours or days."""
    dims = {d: values.get(d) or None for d in DIMENSIONS}
    explicit = _explicit_days({k: v for k, v in values.items() if isinstance(v, str)})
    if explicit is None:
        start, end = preset_span(values.get("range"), now)
        return Filters(start=start, end=end, **dims)
    first, last = explicit
    return Filters(
        start=datetime.combine(first, time(), UTC),
        end=datetime.combine(last + timedelta(days=1), time(), UTC),
        **dims,
    )


def bucket_of(f: Filters) -> str:
    """The time bucket charts of the view use: "hour" up to a week, "day" beyond."""
    return "hour" if f.end - f.start <= HOURLY_UP_TO else "day"


def previous(f: Filters) -> Filters:
    """The equal range just before `f`."""
    span = f.end - f.start
    return Filters(f.start - span, f.start, f.provider, f.model, f.app, f.team, f.environment)


def unmatched(values: dict[str, str], options: dict[str, list[str]]) -> list[str]:
    """The dimension filters no usage of the range has (the view shows nothing for them)."""
    return [
        f"{d} {values[d]!r} has no usage in this range"
        for d in DIMENSIONS
        if values.get(d) and values[d] not in options.get(d, [])
    ]


def bar(
    values: dict[str, str],
    options: dict[str, list[str]],
    now: datetime,
    ignored: Sequence[str] = (),
    uses: str = "all",
) -> html.Div:
    """The filter bar, filled from the URL's values, with a note on the filters ignored and
    a warning for filters that match nothing. `uses`: what of it the page applies ("all",
    "dates" or "none"); the rest is hidden (kept in the page, so the URL keeps it)."""
    first, last = date_range(values, now)
    hidden = {"display": "none"}
    warnings = unmatched(values, options) if uses == "all" else []
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
            style=hidden if uses != "all" else None,
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
                        options=[{"label": f"last {k}", "value": k} for k in PRESETS],
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
            *(
                [html.P(f"{'; '.join(warnings)}.", id="f-unmatched", className="warning")]
                if warnings
                else []
            ),
        ],
        className="filter-bar",
        style=hidden if uses == "none" else None,
    )
