"""Day buckets and the hour-of-day heatmap follow the view's time zone: a request's day is the
day its zone's clock shows (the rollups are UTC hours, cut at the zone's midnight)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from reports.views import by_bucket
from store.analytics import Filters, heatmap
from store.models import Tenant
from tests.factories import anthropic_record

START, END = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)


def test_days_are_the_zones_days(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    records = [
        anthropic_record(request_id="late", occurred_at="2026-11-20T23:30:00Z"),
        anthropic_record(request_id="early", occurred_at="2026-11-21T00:30:00Z"),
    ]
    assert client.post("/v1/usage", json={"records": records}, headers=auth).json()["accepted"] == 2
    with engine.connect() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == "acme")).scalar_one()

        def days(zone: str) -> list[tuple[datetime, int]]:
            view = Filters(START, END, zone=zone)
            return [(t.key, t.counts["requests"]) for t in by_bucket(conn, tenant_id, view)]

        # In UTC, two days; in Tokyo (UTC+9) 08:30 and 09:30 on the 21st; in New York (UTC-5)
        # 18:30 and 19:30 on the 20th. A day bucket starts at its zone's midnight.
        assert days("UTC") == [
            (datetime(2026, 11, 20, tzinfo=UTC), 1),
            (datetime(2026, 11, 21, tzinfo=UTC), 1),
        ]
        assert days("Asia/Tokyo") == [(datetime(2026, 11, 20, 15, tzinfo=UTC), 2)]
        assert days("America/New_York") == [(datetime(2026, 11, 20, 5, tzinfo=UTC), 2)]
        # Hours stay the rollup's UTC hours in any zone.
        hourly = by_bucket(conn, tenant_id, Filters(START, END, zone="Asia/Kolkata"), "hour")
        assert [t.key for t in hourly] == [
            datetime(2026, 11, 20, 23, tzinfo=UTC),
            datetime(2026, 11, 21, 0, tzinfo=UTC),
        ]
        # The 23:00 UTC hour starts at 04:30 on Saturday the 21st in Kolkata (UTC+5:30), the
        # 00:00 UTC hour at 05:30: weekday 6, hours of day 4 and 5.
        cells = heatmap(conn, tenant_id, Filters(START, END, zone="Asia/Kolkata"))
        assert sorted((int(c.dow), int(c.hour_of_day)) for c in cells) == [(6, 4), (6, 5)]
