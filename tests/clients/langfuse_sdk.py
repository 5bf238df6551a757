"""The Langfuse SDK with its defaults, but for the host and keys: its OpenAI drop-in and a
generation reported by hand with Langfuse's own usage keys."""

import langfuse
from common import MESSAGES, MODEL, env, openai_calls
from langfuse.openai import OpenAI  # type: ignore[attr-defined]

client = langfuse.Langfuse(
    public_key="pk-lf-anything", secret_key=env("CM_KEY"), host=env("CM_URL")
)
openai_calls(OpenAI(base_url=f"{env('PROVIDER_URL')}/v1", api_key="sk-test", max_retries=0))
with client.start_as_current_observation(
    as_type="generation", name="by-hand", model=MODEL, input=MESSAGES
) as generation:
    generation.update(
        output="ok",
        usage_details={
            "input": 21,
            "cache_read_input_tokens": 4096,
            "cache_creation_input_tokens": 1500,
            "output": 12,
        },
        cost_details={"total": 0.0123},
    )
client.flush()
client.shutdown()
