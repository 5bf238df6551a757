"""Schemathesis fuzzes every operation of the OpenAPI spec against the running service: no
5xx, and every response (status, content type, headers, body) as the spec documents it.

Every built-in check runs but positive_data_acceptance: a schema-valid `usage` object (any
JSON object) is still refused when it matches no provider shape, a rule JSON Schema cannot
express; those refusals are 422s naming the field, which the other checks hold to the spec.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from sqlalchemy import Engine

from tests.factories import tenant_with_key


def test_api_conforms_to_its_schema(live_url: str, engine: Engine) -> None:
    _, key = tenant_with_key(engine)
    headers = {"Authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_url(f"{live_url}/openapi.json")
    # An Err result (an invalid schema) raises on .ok(), failing the test.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            fuzz()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
