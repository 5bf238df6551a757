"""The one error a sender can act on: which field, what was wrong."""

from __future__ import annotations


class PayloadError(ValueError):
    """A payload or record that cannot be accepted; `field` is a dotted path into it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def within(self, prefix: str) -> PayloadError:
        """The same error with its field path placed under `prefix`."""
        return PayloadError(f"{prefix}.{self.field}" if self.field else prefix, self.reason)
