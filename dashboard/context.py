"""What page callbacks need: the engine, the signed-in tenant, the view's filters and the
advisor's thresholds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dash.exceptions import PreventUpdate
from sqlalchemy import Connection, Engine

from dashboard.auth import current_tenant
from dashboard.filters import filters_from, parse_query
from reports.advice import AdviceSettings
from store.analytics import Filters
from store.tenancy import tenant_transaction
from store.tenants import TenantRef


@dataclass(frozen=True)
class Context:
    """Shared by every page of one dashboard app."""

    engine: Engine
    # When the Advice page shows a finding (the server's advice_min_saving and
    # advice_min_requests settings, as the API and CLI default to).
    advice: AdviceSettings = field(default_factory=AdviceSettings)

    def tenant_id(self) -> int:
        """The signed-in tenant; a callback without one does nothing."""
        return self.tenant().id

    def tenant(self) -> TenantRef:
        """The signed-in tenant as reports take it: its name picks its negotiated prices."""
        tenant = current_tenant()
        if tenant is None:
            raise PreventUpdate
        # Read only, whatever else the session's key may do: the dashboard only reads.
        return TenantRef(id=tenant[0], name=tenant[1], scopes=frozenset({"read"}))

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
