"""The LiteLLM proxy callback under its earlier name: it lives in the client package
(`cachemeter_client.litellm.handler`); proxy configs written for `cachemeter.litellm.handler`
keep working."""

from cachemeter_client.litellm import CachemeterLogger, handler, record_from_log

__all__ = ["CachemeterLogger", "handler", "record_from_log"]
