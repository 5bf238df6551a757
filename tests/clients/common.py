"""What every client script shares: where to send, and the calls of the scenario.

The scripts run in a subprocess (instrumentors patch SDKs and set a global TracerProvider,
once per process) with CM_URL (cachemeter), CM_KEY (an API key) and PROVIDER_URL (the scripted
fake provider) in the environment, each in the venv that has its client installed.
"""

from __future__ import annotations

import os
from typing import Any

MODEL = "claude-sonnet-4-5"
MESSAGES = [{"role": "user", "content": "Say ok."}]


def env(name: str) -> str:
    """A required environment variable."""
    return os.environ[name]


def tracer_provider(service: str) -> Any:
    """A global TracerProvider exporting every span to cachemeter's OTLP receiver, at once."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(
        endpoint=f"{env('CM_URL')}/v1/traces",
        headers={"Authorization": f"Bearer {env('CM_KEY')}"},
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def anthropic_client() -> Any:
    """The real Anthropic SDK client, pointed at the fake provider."""
    import anthropic

    return anthropic.Anthropic(base_url=env("PROVIDER_URL"), api_key="sk-ant-test", max_retries=0)


def anthropic_calls(client: Any) -> None:
    """The six calls: three plain, two streamed with create(stream=True), one messages.stream()."""
    for _ in range(3):
        client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    for _ in range(2):
        for _event in client.messages.create(
            model=MODEL, max_tokens=64, messages=MESSAGES, stream=True
        ):
            pass
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        stream.get_final_message()


def openai_client() -> Any:
    """The real OpenAI SDK client, pointed at the fake provider."""
    import openai

    return openai.OpenAI(base_url=f"{env('PROVIDER_URL')}/v1", api_key="sk-test", max_retries=0)


def openai_calls(client: Any) -> None:
    """Six chat calls: three plain, three streamed with usage on the last chunk."""
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    for _ in range(3):
        for _chunk in client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        ):
            pass
