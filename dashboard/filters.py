"""The filter bar every page shares, and its round trip through the URL query string."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo, available_timezones

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
UTC_ZONE = "UTC"
# A bound of a custom range as the URL carries it: a date, or a date and a time of day.
_BOUND = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?")


def _query(search: str | None) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v and v[0]}


def parse_query(search: str | None) -> dict[str, str]:
    """?a=1&b=2 -> {"a": "1", "b": "2"} (first value of each). A value with a NUL character is
    left out: no stored text holds one (Postgres text cannot), so it could match nothing."""
    return {k: v for k, v in _query(search).items() if "\x00" not in v}


@cache
def _zones() -> frozenset[str]:
    # Area/Location names (what browsers report) and UTC: the system's "localtime" link and
    # the like are names Postgres does not know, and the zone goes to Postgres.
    named = {
        z for z in available_timezones() if "/" in z and not z.startswith(("posix/", "right/"))
    }
    return frozenset({*named, UTC_ZONE})


def zone_of(values: dict[str, Any]) -> str:
    """The view's time zone: the IANA name in `tz` (the browser's, when its user chose local
    time), else UTC. Only names of the IANA database are taken: the name goes to Postgres."""
    name = values.get("tz")
    return name if isinstance(name, str) and name in _zones() else UTC_ZONE


def _moment(text: str, zone: ZoneInfo, is_end: bool) -> datetime | None:
    """A bound of a custom range, read in `zone`: "2026-11-30" is the start of that day (an end
    date includes its day: the start of the next), "2026-11-30T14:30" that minute."""
    if not _BOUND.fullmatch(text):
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            day = day + timedelta(days=1) if is_end else day
            return datetime.combine(day, time(), zone)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    # A wall time of the chosen zone; one with its own offset is another zone's.
    if moment.tzinfo is not None:
        return None
    placed = moment.replace(tzinfo=zone)
    # A time the clocks skip (02:30 the night they spring forward) is no time of the zone.
    if placed.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
        return None
    return placed


def explicit_span(values: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """[start, end) of a custom range (start and end dates, or dates and times of day, in the
    view's zone), in UTC; None when either is missing, malformed, out of bounds or reversed."""
    start_text, end_text = values.get("start"), values.get("end")
    if not (isinstance(start_text, str) and isinstance(end_text, str)):
        return None
    zone = ZoneInfo(zone_of(values))
    start, end = _moment(start_text, zone, False), _moment(end_text, zone, True)
    if start is None or end is None:
        return None
    if not (start.date() >= FIRST_DAY and (end - timedelta.resolution).date() <= LAST_DAY):
        return None
    # Compared as instants: two wall times of one zone compare as wall times, which a clock
    # change can turn around.
    first, last = start.astimezone(UTC), end.astimezone(UTC)
    if not first < last:
        return None
    # The rollups hold whole UTC hours: the view is the hours the range touches.
    first = first.replace(minute=0, second=0, microsecond=0)
    if last.minute or last.second or last.microsecond:
        last = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return first, last


def rounded_note(values: dict[str, Any]) -> str | None:
    """What the view shows when the range's times are not whole UTC hours, or None."""
    span = explicit_span(values)
    if span is None:
        return None
    zone = ZoneInfo(zone_of(values))
    start, end = _moment(values["start"], zone, False), _moment(values["end"], zone, True)
    if (start, end) == span:
        return None
    shown = " to ".join(m.astimezone(zone).strftime("%Y-%m-%d %H:%M") for m in span)
    return f"Usage is kept by the hour (UTC): the view is {shown} ({zone_of(values)})."


def ignored_filters(search: str | None) -> list[str]:
    """What of the URL's filters the view ignores, and why (shown under the filter bar)."""
    notes = [
        f"{name}: a NUL character is not allowed"
        for name, value in _query(search).items()
        if "\x00" in value
    ]
    values = parse_query(search)
    if ("start" in values or "end" in values) and explicit_span(values) is None:
        notes.append(
            f"start and end: two dates (YYYY-MM-DD) or dates and times (YYYY-MM-DDTHH:MM) from"
            f" {FIRST_DAY} to {LAST_DAY}, the start before the end (the range preset applies)"
        )
    if "tz" in values and zone_of(values) != values["tz"]:
        notes.append("tz: not an IANA time zone name, Area/Location or UTC (times are in UTC)")
    return notes


def zone_options(current: str) -> list[dict[str, str]]:
    """The time zone switch's choices before the browser adds its own: UTC, and the view's."""
    zones = dict.fromkeys((UTC_ZONE, current))
    return [{"label": z, "value": z} for z in zones]


def range_values(
    start_date: str | None, end_date: str | None, start_time: str | None, end_time: str | None
) -> dict[str, str]:
    """The URL's start and end for the picker's days and the times of day (none: whole days)."""
    if not (start_date and end_date):
        return {}
    start, end = start_date[:10], end_date[:10]
    return {
        "start": f"{start}T{_clock(start_time)}" if start_time else start,
        "end": f"{end}T{_clock(end_time)}" if end_time else end,
    }


def _clock(text: str) -> str:
    """ "9:05" -> "09:05"; what is not a time of day is kept as typed, and the view says why it
    ignores it."""
    try:
        return time.fromisoformat(text.strip().zfill(5)).strftime("%H:%M")
    except ValueError:
        return text


def to_query(values: dict[str, Any]) -> str:
    """The query string for filter values, empty ones left out."""
    query = urlencode({k: v for k, v in values.items() if v not in (None, "", [])})
    return f"?{query}" if query else ""


def preset_span(name: str | None, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a preset: the last N hours or days to the end of the current hour."""
    span = PRESETS.get(name or DEFAULT_PRESET, PRESETS[DEFAULT_PRESET])
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - span, end


def date_range(values: dict[str, Any], now: datetime) -> tuple[date, date]:
    """The inclusive [first, last] days of a view in its zone (what the date picker shows): the
    days a custom range or the preset touches."""
    if explicit_span(values) is not None:
        # The days as given, whatever the times of day (an end at 00:00 is on its own day).
        return date.fromisoformat(values["start"][:10]), date.fromisoformat(values["end"][:10])
    zone = ZoneInfo(zone_of(values))
    start, end = preset_span(values.get("range"), now)
    last = end - timedelta(microseconds=1)
    return start.astimezone(zone).date(), last.astimezone(zone).date()


def times_of_day(values: dict[str, Any]) -> tuple[str, str]:
    """The "HH:MM" a custom range starts and ends at, "" where it is a whole day."""
    if explicit_span(values) is None:
        return "", ""
    return tuple(  # type: ignore[return-value]
        values[k][11:16] if len(values[k]) > 10 else "" for k in ("start", "end")
    )


def filters_from(values: dict[str, Any], now: datetime) -> Filters:
    """Store filters for the values of the bar: a custom range (dates are whole days of the
    view's zone), else the preset's last N hours or days."""
    dims = {d: values.get(d) or None for d in DIMENSIONS}
    start, end = explicit_span(values) or preset_span(values.get("range"), now)
    return Filters(start=start, end=end, zone=zone_of(values), **dims)


def bucket_of(f: Filters) -> str:
    """The time bucket charts of the view use: "hour" up to a week, "day" beyond."""
    return "hour" if f.end - f.start <= HOURLY_UP_TO else "day"


def previous(f: Filters) -> Filters:
    """The equal range just before `f`."""
    span = f.end - f.start
    return replace(f, start=f.start - span, end=f.start)


def unmatched(values: dict[str, str], options: dict[str, list[str]]) -> list[str]:
    """The dimension filters no usage of the range has (the view shows nothing for them)."""
    return [
        f"{d} {values[d]!r} has no usage in this range"
        for d in DIMENSIONS
        if values.get(d) and values[d] not in options.get(d, [])
    ]


def _clock_input(input_id: str, value: str) -> dcc.Input:
    # Text, not type="time": dcc.Input has no time type, and "HH:MM" reads the same everywhere
    # (a browser's time field follows its locale: 2:30 PM). Sent on Enter or leaving the field.
    return dcc.Input(
        id=input_id,
        type="text",
        placeholder="HH:MM",
        maxLength=5,
        size="5",
        value=value,
        debounce=True,
        pattern="[0-2]?[0-9]:[0-5][0-9]",
    )


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
    start_time, end_time = times_of_day(values)
    note = rounded_note(values)
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
                    html.Label("Dates, times of day (empty: the whole day)"),
                    html.Div(
                        [
                            dcc.DatePickerRange(
                                id="f-dates",
                                start_date=first.isoformat(),
                                end_date=last.isoformat(),
                                display_format="YYYY-MM-DD",
                            ),
                            _clock_input("f-start-time", start_time),
                            html.Span("to"),
                            _clock_input("f-end-time", end_time),
                        ],
                        className="range",
                    ),
                ],
                className="filter dates",
            ),
            html.Div(
                [
                    html.Label("Time zone", htmlFor="f-tz"),
                    # The browser's own zone is added by the page (clientside): only it knows.
                    dcc.RadioItems(
                        id="f-tz",
                        options=zone_options(zone_of(values)),
                        value=zone_of(values),
                        inline=True,
                    ),
                ],
                className="filter",
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
            # Kept up to date as the range changes (the bar itself is drawn once per page).
            html.P(note, id="f-rounded", className="note", style=None if note else hidden),
        ],
        className="filter-bar",
        style=hidden if uses == "none" else None,
    )
