"""What page callbacks need: the engine, the signed-in tenant, and the view's filters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from dash.exceptions import PreventUpdate
from sqlalchemy import Connection, Engine

from dashboard.auth import current_tenant
from dashboard.filters import filters_from, parse_query
from store.analytics import Filters
from store.tenancy import tenant_transaction


@dataclass(frozen=True)
class Context:
    """Shared by every page of one dashboard app."""

    engine: Engine

    def tenant_id(self) -> int:
        """The signed-in tenant; a callback without one does nothing."""
        tenant = current_tenant()
        if tenant is None:
            raise PreventUpdate
        return tenant[0]

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A transaction that sees only the signed-in tenant's rows."""
        with tenant_transaction(self.engine, self.tenant_id()) as conn:
            yield conn

    @staticmethod
    def now() -> datetime:
        """Now (presets end with the current hour)."""
        return datetime.now(UTC)

    def filters(self, search: str | None) -> Filters:
        """The filters a URL query string describes."""
        return filters_from(parse_query(search), self.now())
