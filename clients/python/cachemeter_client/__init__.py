"""cachemeter's Python client: report every LLM call's usage (with TTFT and latency) to
cachemeter in background batches.

    from cachemeter_client import Reporter, instrument
    reporter = Reporter("http://cachemeter:8000", api_key, app="support-bot")
    client = instrument(openai.OpenAI(), reporter)

It depends on httpx alone; openai, anthropic and litellm are the caller's.
"""

from cachemeter_client.instrument import instrument, prefix_hash
from cachemeter_client.reporter import Reporter

__all__ = ["Reporter", "instrument", "prefix_hash"]
