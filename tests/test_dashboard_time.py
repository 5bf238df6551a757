"""Time in the dashboard as in Grafana: presets are the last N hours or days (to the end of the
current hour), a custom range is whole days or dates with times of day, read in UTC or in the
browser's zone, and charts are hourly up to a week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from dashboard.filters import (
    bucket_of,
    date_range,
    filters_from,
    ignored_filters,
    preset_span,
    previous,
    range_values,
    rounded_note,
    times_of_day,
    to_query,
)
from dashboard.pages.common import moment_text
from dashboard.pages.ingest_health import bucket_edges
from dashboard.theme import base_figure, step_line, time_axis

NOW = datetime(2026, 12, 2, 18, 37, 12, tzinfo=UTC)


def test_presets_are_the_last_hours_or_days() -> None:
    # "24h" at 18:37 is 19:00 yesterday to 19:00 today, not "today since midnight".
    assert preset_span("24h", NOW) == (
        datetime(2026, 12, 1, 19, tzinfo=UTC),
        datetime(2026, 12, 2, 19, tzinfo=UTC),
    )
    f = filters_from({"range": "7d", "app": "reviewer"}, NOW)
    assert (f.start, f.end, f.app) == (
        datetime(2026, 11, 25, 19, tzinfo=UTC),
        datetime(2026, 12, 2, 19, tzinfo=UTC),
        "reviewer",
    )
    # No preset, or an unknown one: the default, 7 days.
    assert filters_from({}, NOW).start == f.start == filters_from({"range": "1y"}, NOW).start
    # The compared range is the equal span just before.
    assert (previous(f).start, previous(f).end) == (f.start - timedelta(days=7), f.start)
    # The date picker shows the days the preset touches.
    assert date_range({"range": "24h"}, NOW) == (date(2026, 12, 1), date(2026, 12, 2))


def test_explicit_dates_are_whole_utc_days() -> None:
    f = filters_from({"start": "2026-11-01", "end": "2026-11-30", "range": "24h"}, NOW)
    assert (f.start, f.end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_charts_are_hourly_up_to_a_week_then_daily() -> None:
    assert bucket_of(filters_from({"range": "24h"}, NOW)) == "hour"
    assert bucket_of(filters_from({"range": "7d"}, NOW)) == "hour"
    assert bucket_of(filters_from({"range": "30d"}, NOW)) == "day"
    # Eight whole days is more than a week.
    assert bucket_of(filters_from({"start": "2026-11-01", "end": "2026-11-08"}, NOW)) == "day"
    figure = base_figure()
    time_axis(figure, "hour")
    assert figure.layout.xaxis.title.text == "hour (UTC)"
    # A bucketed value is drawn flat across its bucket, stepping at the edge.
    assert step_line(x=[1, 2], y=[0.9, 0.1]).line.shape == "hv"


def test_a_custom_range_may_start_and_end_at_a_time_of_day() -> None:
    values = {"start": "2026-11-30T14:30", "end": "2026-12-01T02:00"}
    f = filters_from(values, NOW)
    # The view is the UTC hours the range touches: 14:30 is in the 14:00 hour.
    assert (f.start, f.end, f.zone) == (
        datetime(2026, 11, 30, 14, tzinfo=UTC),
        datetime(2026, 12, 1, 2, tzinfo=UTC),
        "UTC",
    )
    assert bucket_of(f) == "hour"
    assert times_of_day(values) == ("14:30", "02:00")
    # A date alone is the whole day, whichever bound it is.
    assert times_of_day({"start": "2026-11-30", "end": "2026-12-01T02:00"}) == ("", "02:00")
    assert filters_from({"start": "2026-11-30", "end": "2026-12-01T02:00"}, NOW).start == (
        datetime(2026, 11, 30, tzinfo=UTC)
    )
    # The picker's days and the typed times make the URL's values; "9:05" is 09:05.
    assert range_values("2026-11-30", "2026-12-01", "9:05", "") == {
        "start": "2026-11-30T09:05",
        "end": "2026-12-01",
    }


def test_a_range_is_read_in_the_chosen_zone() -> None:
    # Berlin in November is UTC+1: its 1 November starts at 23:00 UTC on 31 October.
    f = filters_from({"start": "2026-11-01", "end": "2026-11-30", "tz": "Europe/Berlin"}, NOW)
    assert (f.start, f.end, f.zone) == (
        datetime(2026, 10, 31, 23, tzinfo=UTC),
        datetime(2026, 11, 30, 23, tzinfo=UTC),
        "Europe/Berlin",
    )
    # Clocks went back on 25 October 2026: 24 October 00:00 CEST (UTC+2) to 26 October
    # 00:00 CET (UTC+1) is two days of 49 hours.
    dst = filters_from({"start": "2026-10-24", "end": "2026-10-25", "tz": "Europe/Berlin"}, NOW)
    assert (dst.start, dst.end) == (
        datetime(2026, 10, 23, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 23, tzinfo=UTC),
    )
    # A preset is the same hours anywhere; the picker shows its days in the zone: 19:00 UTC to
    # 19:00 UTC is 00:30 to 00:30 in Kolkata (UTC+5:30).
    kolkata = {"range": "24h", "tz": "Asia/Kolkata"}
    assert (filters_from(kolkata, NOW).start, filters_from(kolkata, NOW).end) == preset_span(
        "24h", NOW
    )
    assert date_range(kolkata, NOW) == (date(2026, 12, 2), date(2026, 12, 3))
    # The compared range keeps the zone.
    assert previous(f).zone == "Europe/Berlin"


def test_ranges_and_zones_the_view_cannot_take_are_named_and_ignored() -> None:
    for values, ignored in (
        ({"start": "2026-11-30T14:30", "end": "2026-11-30T14:30"}, "start and end"),
        ({"start": "2026-12-01", "end": "2026-11-30"}, "start and end"),
        ({"start": "2026-11-30Tabc", "end": "2026-12-01"}, "start and end"),
        # A time with its own offset is another zone's wall clock.
        ({"start": "2026-11-30T10:00+05:00", "end": "2026-12-01"}, "start and end"),
        ({"tz": "Mars/Olympus_Mons"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
    ):
        f = filters_from(values, NOW)
        assert (f.start, f.end) == preset_span(None, NOW), values
        assert f.zone == ("UTC" if "tz" in values else f.zone)
        assert [n for n in ignored_filters(to_query(values)) if n.startswith(ignored)], values


def test_charts_and_times_read_on_the_clock_of_the_zone() -> None:
    figure = base_figure()
    figure.add_trace(step_line(x=[datetime(2026, 12, 1, 19, tzinfo=UTC)], y=[0.5]))
    figure.add_vline(x="2026-12-01T20:00:00+00:00")
    figure.add_annotation(x="2026-12-01T20:00:00+00:00", y=1, text="regression")
    time_axis(figure, "hour", "Asia/Kolkata")
    # Wall-clock times, without an offset (Plotly would drop one).
    assert [x.isoformat() for x in figure.data[0].x] == ["2026-12-02T00:30:00"]
    assert figure.layout.shapes[0].x0.isoformat() == "2026-12-02T01:30:00"
    assert figure.layout.annotations[0].x.isoformat() == "2026-12-02T01:30:00"
    assert figure.layout.xaxis.title.text == "hour (Asia/Kolkata)"
    assert moment_text("2026-12-01T20:00:00+00:00", zone="Asia/Kolkata") == "2026-12-02 01:30"
    assert moment_text("2026-12-01T20:00:05+00:00", seconds=True) == "2026-12-01 20:00:05"


def test_the_ingest_outcomes_chart_has_every_bucket_of_the_view() -> None:
    # 24h at 18:37: the 24 hours from 19:00 yesterday to 18:00 today, and the last one's end.
    day = filters_from({"range": "24h"}, NOW)
    hours = bucket_edges(day, bucket_of(day))
    assert (len(hours), hours[0], hours[-2], hours[-1]) == (
        24 + 1,
        datetime(2026, 12, 1, 19, tzinfo=UTC),
        datetime(2026, 12, 2, 18, tzinfo=UTC),
        datetime(2026, 12, 2, 19, tzinfo=UTC),
    )
    # 30d: from 19:00 on Nov 2 to 19:00 on Dec 2, the days touched: Nov 2..30 (29) + Dec 1..2.
    month = filters_from({"range": "30d"}, NOW)
    days = bucket_edges(month, bucket_of(month))
    assert (len(days), days[0], days[-2], days[-1]) == (
        29 + 2 + 1,
        datetime(2026, 11, 2, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
        datetime(2026, 12, 3, tzinfo=UTC),
    )
    # In Berlin, days start at its midnight, 23:00 UTC in winter and 22:00 in summer: the
    # 30 days to 19:00 UTC (20:00 CET) on Dec 2 touch Nov 2..Dec 2 of Berlin.
    berlin = filters_from({"range": "30d", "tz": "Europe/Berlin"}, NOW)
    days = bucket_edges(berlin, "day")
    assert (len(days), days[0], days[-1]) == (
        29 + 2 + 1,
        datetime(2026, 11, 1, 23, tzinfo=UTC),
        datetime(2026, 12, 2, 23, tzinfo=UTC),
    )
    # Across the clock change of 25 October (CEST to CET), that day lasts 25 hours.
    autumn = filters_from({"start": "2026-10-24", "end": "2026-10-26", "tz": "Europe/Berlin"}, NOW)
    edges = bucket_edges(autumn, "day")
    assert [b - a for a, b in pairwise(edges)] == [
        timedelta(hours=24),
        timedelta(hours=25),
        timedelta(hours=24),
    ]


def test_a_range_reads_back_as_it_was_given() -> None:
    # An end at 00:00 is on its own day: the picker shows that day, the field 00:00.
    values = {"start": "2026-11-28T10:00", "end": "2026-11-30T00:00"}
    assert date_range(values, NOW) == (date(2026, 11, 28), date(2026, 11, 30))
    assert times_of_day(values) == ("10:00", "00:00")
    first, last = date_range(values, NOW)
    assert range_values(first.isoformat(), last.isoformat(), *times_of_day(values)) == values
    # The last day offered is a day one can end on.
    assert filters_from({"start": "2100-12-30", "end": "2100-12-31"}, NOW).end == datetime(
        2101, 1, 1, tzinfo=UTC
    )


def test_times_the_clocks_skip_and_times_between_hours() -> None:
    # New York springs forward at 02:00 on 8 March 2026: 02:30 is no time there.
    skipped = {"start": "2026-03-08T02:30", "end": "2026-03-08T03:10", "tz": "America/New_York"}
    assert filters_from(skipped, NOW).start == preset_span(None, NOW)[0]
    assert [n for n in ignored_filters(to_query(skipped)) if n.startswith("start and end")]
    # 01:30 EST to 03:10 EDT is 06:30 to 07:10 UTC: the hours 06:00 to 08:00 UTC, which the
    # bar says are 01:00 EST to 04:00 EDT.
    values = {"start": "2026-03-08T01:30", "end": "2026-03-08T03:10", "tz": "America/New_York"}
    f = filters_from(values, NOW)
    assert (f.start, f.end) == (
        datetime(2026, 3, 8, 6, tzinfo=UTC),
        datetime(2026, 3, 8, 8, tzinfo=UTC),
    )
    assert rounded_note(values) == (
        "Usage is kept by the hour (UTC): the view is 2026-03-08 01:00 to 2026-03-08 04:00"
        " (America/New_York)."
    )
    assert rounded_note({"start": "2026-11-30T06:00", "end": "2026-12-01"}) is None
    # Only Area/Location names (and UTC) go to Postgres.
    assert filters_from({"tz": "localtime"}, NOW).zone == "UTC"
    assert filters_from({"tz": "Etc/GMT+5"}, NOW).zone == "Etc/GMT+5"


def test_a_regressions_link_keeps_the_views_zone() -> None:
    from dashboard.pages.regression_marks import hit_rate_query

    regression = {
        "opened_at": "2026-11-30T23:30:00+00:00",
        "closed_at": None,
        "provider": "openai",
        "model": "gpt-5.1",
        "app": "code-review",
    }
    # 23:30 UTC on the 30th is 08:30 on 1 December in Tokyo: the day before to the day after.
    assert hit_rate_query(regression, "Asia/Tokyo") == (
        "?start=2026-11-30&end=2026-12-02&provider=openai&model=gpt-5.1&app=code-review"
        "&tz=Asia%2FTokyo"
    )
    assert hit_rate_query(regression).startswith("?start=2026-11-29&end=2026-12-01&")
