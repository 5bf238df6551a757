"""Schemathesis fuzzes every operation of the OpenAPI spec against the running service, with
schema-valid requests and with requests that break the schema: no 5xx, every invalid request
refused, and every response (status, content type, headers, body) as the spec documents it.

Every built-in check runs but positive_data_acceptance. Requests carrying a bearer credential
get the tenant's real key; the others keep the missing or malformed header they were generated
with. The schema states what JSON Schema can (types, lengths, patterns for times and months in
the supported range, enums, required fields, exactly one payload), but some rules relate fields
or values, and JSON Schema cannot express them: a time range whose start is before its end, an
`amount` that is a positive number, a `usage` object in some provider's shape. Schema-valid
requests that break one are refused with a 422 naming the field, and the other checks hold those
answers to the spec.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation import GenerationMode
from sqlalchemy import Engine

from tests.factories import tenant_with_key


def _carries_bearer(case: schemathesis.Case[Any]) -> bool:
    """Whether the case sends a bearer credential, which the tenant's real key then replaces.

    A negative case may drop the Authorization header or break its scheme as its mutation;
    putting the real key back would undo that mutation and turn an invalid request into a valid
    one, which schemathesis would then report as accepted though invalid (a query parameter named
    "" with an empty list, which no client can send, was the only other mutation once)."""
    auth = case.headers.get("Authorization", "") if case.headers else ""
    return str(auth).startswith("Bearer ")


def test_api_conforms_to_its_schema(live_url: str, engine: Engine) -> None:
    _, key = tenant_with_key(engine)
    headers = {"Authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_url(f"{live_url}/openapi.json")
    # An Err result (an invalid schema) raises on .ok(), failing the test.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15
    negative_runs = 0
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(
                    headers=headers if _carries_bearer(case) else None,
                    excluded_checks=[positive_data_acceptance],
                )

            try:
                fuzz()
            except Unsatisfiable:
                # Nothing in the operation can break the schema (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE, operation.label
                continue
            except BaseException as exc:
                # Schemathesis reports failures as an exception group.
                raise AssertionError(f"{mode.value} {operation.label}: {exc}") from exc
            negative_runs += mode is GenerationMode.NEGATIVE
    assert negative_runs >= 15
