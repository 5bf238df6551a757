"""Time in the dashboard as in Grafana: presets are the last N hours or days (to the end of the
current hour), explicit dates are whole UTC days, charts are hourly up to a week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dashboard.filters import bucket_of, date_range, filters_from, preset_span, previous
from dashboard.pages.ingest_health import bucket_starts
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


def test_the_ingest_outcomes_chart_has_every_bucket_of_the_view() -> None:
    # 24h at 18:37: the 24 hours from 19:00 yesterday to 18:00 today.
    day = filters_from({"range": "24h"}, NOW)
    hours = bucket_starts(day, bucket_of(day))
    assert (len(hours), hours[0], hours[-1]) == (
        24,
        datetime(2026, 12, 1, 19, tzinfo=UTC),
        datetime(2026, 12, 2, 18, tzinfo=UTC),
    )
    # 30d: from 19:00 on Nov 2 to 19:00 on Dec 2, the days touched: Nov 2..30 (29) + Dec 1..2.
    month = filters_from({"range": "30d"}, NOW)
    days = bucket_starts(month, bucket_of(month))
    assert (len(days), days[0], days[-1]) == (
        29 + 2,
        datetime(2026, 11, 2, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
    )
