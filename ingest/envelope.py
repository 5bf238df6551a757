"""The record a sender pushes: a provider payload plus who/when/where, validated strictly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from billing.moments import Moment, in_utc
from billing.text import NoNul

# Strings of at most N characters, non-empty and without NUL (Dimension trims whitespace).
Dimension = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), NoNul
]
ProviderName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul
]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128), NoNul]
Text256 = Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
Millis = Annotated[float, Field(ge=0, le=86_400_000, allow_inf_nan=False)]


class RecordIn(BaseModel):
    """One LLM request's usage: `usage` (bare usage object) or `response` (whole body or the
    list of stream events), plus optional identity and dimensions."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName | None = None
    model: Text256 | None = None
    usage: Any = None
    response: Any = None
    request_id: Text256 | None = None
    occurred_at: Moment | None = None
    ttft_ms: Millis | None = None
    latency_ms: Millis | None = None
    app: Dimension | None = None
    team: Dimension | None = None
    environment: Dimension | None = None
    end_user: Text256 | None = None
    prompt_cache_key: Text256 | None = None
    prefix_hash: Text128 | None = None
    reported_cost: Annotated[Decimal, Field(gt=-(10**9), lt=10**9, allow_inf_nan=False)] | None = (
        None
    )
    tags: dict[
        Annotated[str, StringConstraints(max_length=64), NoNul],
        Annotated[str, StringConstraints(max_length=256), NoNul],
    ] = Field(default_factory=dict, max_length=32)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Times without a zone are read as UTC, the only zone cachemeter stores.
        if value is None:
            return None
        value = in_utc(value)
        if value < EARLIEST:
            raise ValueError(f"must be after {EARLIEST.date().isoformat()}")
        return value

    @model_validator(mode="after")
    def _one_payload(self) -> RecordIn:
        if (self.usage is None) == (self.response is None):
            raise ValueError("give exactly one of `usage` (usage object) or `response` (body)")
        return self

    @property
    def payload(self) -> Any:
        """The provider payload, whichever field carried it."""
        return self.usage if self.usage is not None else self.response


class ValidRecord(Protocol):
    """What normalisation reads of a validated record: a RecordIn, or the same record
    validated by ingest.fast_envelope."""

    @property
    def provider(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def usage(self) -> Any: ...
    @property
    def response(self) -> Any: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime | None: ...
    @property
    def ttft_ms(self) -> float | None: ...
    @property
    def latency_ms(self) -> float | None: ...
    @property
    def app(self) -> str | None: ...
    @property
    def team(self) -> str | None: ...
    @property
    def environment(self) -> str | None: ...
    @property
    def end_user(self) -> str | None: ...
    @property
    def prompt_cache_key(self) -> str | None: ...
    @property
    def prefix_hash(self) -> str | None: ...
    @property
    def reported_cost(self) -> Decimal | None: ...
    @property
    def tags(self) -> dict[str, str]: ...
    @property
    def payload(self) -> Any: ...


class BatchIn(BaseModel):
    """A batch of records (documentation schema; records are validated one by one)."""

    model_config = ConfigDict(extra="forbid")

    records: list[RecordIn] = Field(min_length=1)


def describe_validation_error(errors: list[Any]) -> str:
    """One line from pydantic's error list: `field: reason; field: reason`."""
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "record"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)
