"""Provider and model identity: many spellings of one provider, Bedrock's model ids."""

from __future__ import annotations

import functools
import re

from genai_prices.data_snapshot import find_provider_by_id, get_snapshot

# Spellings genai-prices does not know, mapped to the ids it (or our catalogue) uses.
_EXTRA_ALIASES = {
    "grok": "x-ai",
    "x.ai": "x-ai",
    "kimi": "moonshotai",
    "moonshot-ai": "moonshotai",
    "claude": "anthropic",
    "amazon-bedrock": "aws",
    "google-gemini": "google",
    "step": "stepfun",
    "stepfun-ai": "stepfun",
    "venice-ai": "venice",
    # Alibaba Cloud Model Studio serves Qwen under several names; genai-prices has none of them.
    "dashscope": "alibaba",
    "aliyun": "alibaba",
    "alibaba-cloud": "alibaba",
    "bailian": "alibaba",
    "qwen": "alibaba",
    "pplx": "perplexity",
    "z.ai": "zai",
}

_BEDROCK_SCOPE = re.compile(r"^(?:(global|us|eu|apac|jp|au|ca|us-gov|regional)\.)?(.+)$")
_BEDROCK_SUFFIX = re.compile(r"(?:-\d{8})?(?:-v\d+(?::\d+)?|-\d+:\d+)?$")


@functools.lru_cache(maxsize=4096)  # asked of every record; pure, like canonical_model
def canonical_provider(name: str) -> str:
    """One id per provider: genai-prices' id where it has the provider, else lower-case name."""
    key = name.strip().lower()
    key = _EXTRA_ALIASES.get(key, key)
    provider = find_provider_by_id(get_snapshot().providers, key)
    return provider.id if provider is not None else key


def bedrock_base(model: str) -> tuple[str, str]:
    """Split a Bedrock model id or ARN into (scope, `vendor.model` without date and version).

    `us.anthropic.claude-sonnet-4-5-20250929-v1:0` -> ("regional", "anthropic.claude-sonnet-4-5").
    """
    ref = model.strip().lower().rsplit("/", 1)[-1]
    match = _BEDROCK_SCOPE.match(ref)
    assert match is not None  # the pattern accepts any non-empty string
    scope = "global" if match.group(1) == "global" else "regional"
    return scope, _BEDROCK_SUFFIX.sub("", match.group(2))


# Model-name prefixes of providers genai-prices cannot match by model alone.
_MODEL_PREFIXES = (
    ("step-", "stepfun"),
    ("grok", "x-ai"),
    ("kimi", "moonshotai"),
    ("moonshot", "moonshotai"),
    ("deepseek", "deepseek"),
    ("claude", "anthropic"),
    ("gemini", "google"),
)
_BARE_PREFIXES = (("qwen", "alibaba"), ("qwq", "alibaba"), ("sonar", "perplexity"))
# Open weights run anywhere: a name with a parameter count (`qwen3-8b`, `Qwen3-235B-A22B`) or an
# Ollama tag (`qwen3:8b`) is not, by itself, the vendor's API.
_OPEN_WEIGHTS = re.compile(r"(?:^|[-_.])\d+(?:\.\d+)?b(?:$|[-_.])|:")


@functools.lru_cache(maxsize=4096)  # asked of every record; pure, like canonical_model
def provider_for_model(model: str) -> str | None:
    """The provider a bare model name implies, if any (used when the sender names none)."""
    key = model.strip().lower()
    for prefix, provider in _MODEL_PREFIXES:
        if key.startswith(prefix):
            return provider
    for prefix, provider in _BARE_PREFIXES:
        # Open-weight models: only the bare name is the vendor's own API; `Qwen/…` is a host's.
        if key.startswith(prefix) and "/" not in key and not _OPEN_WEIGHTS.search(key):
            return provider
    try:
        return get_snapshot().find_provider(key, None, None).id
    except LookupError:
        return None


# Clients prefix model names: Gemini's `models/…`, gateways' `vendor/…`.
_PATH_PREFIXES = ("models/",)


@functools.lru_cache(maxsize=4096)
def canonical_model(provider: str, model: str) -> str:
    """One name per model, whoever reports it: `gpt-4o`, `openai/gpt-4o` and
    `gpt-4o-2024-08-06` are all `gpt-4o`.

    The vendor prefix of a gateway's name (`openai/…`, `anthropic/…`, Gemini's `models/…`) and
    Bedrock's scope, vendor and version (`us.anthropic.…-v1:0`) are dropped; what remains is the
    genai-prices model it matches, which names dated snapshots by their family only where the
    family's price applies to them (`gpt-4o-2024-05-13`, priced apart, keeps its name). A model
    genai-prices does not know keeps the name it came with, less those prefixes.
    """
    name = model.strip()
    for prefix in _PATH_PREFIXES:
        name = name.removeprefix(prefix)
    vendor = provider
    head, slash, rest = name.partition("/")
    if slash and rest and _is_vendor(head):
        vendor, name = canonical_provider(head), rest
    elif provider == "aws":
        scope_free = bedrock_base(name)[1]
        head, dot, rest = scope_free.partition(".")
        if dot and rest and _is_vendor(head):
            vendor, name = canonical_provider(head), rest
        else:
            # InvokeModel echoes the vendor's own name (`claude-sonnet-4-5-20250929`).
            vendor = provider_for_model(name) or provider
    if not name:
        return model
    snapshot = get_snapshot()
    try:
        found_provider, info = snapshot.find_provider_model(name, None, vendor, None)
    except LookupError:
        return name
    # A model genai-prices only knows under another provider keeps its own name.
    return info.id if found_provider.id == vendor else name


def _is_vendor(name: str) -> bool:
    key = canonical_provider(name)
    return key in _KNOWN_VENDORS or find_provider_by_id(get_snapshot().providers, key) is not None


# Vendors genai-prices does not list (our catalogue prices them).
_KNOWN_VENDORS = frozenset(("stepfun", "venice", "alibaba"))
