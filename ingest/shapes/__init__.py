"""One pure normaliser per provider usage shape; `ingest.detect` picks which one applies."""

from ingest.shapes.base import Normalised

__all__ = ["Normalised"]
