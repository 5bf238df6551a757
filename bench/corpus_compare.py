"""Score cachemeter and genai-prices (and LiteLLM, where installed) on the corpus of real
recordings (tests/corpus/): a case is exact when a tool's input, cache-read, cache-write and
output counts all equal the case's hand-written ones (the counts a price applies to; the 1-hour
split and reasoning, which genai-prices does not report, are scored for cachemeter alone).

genai-prices gets every chance: each of its API flavors for the case's provider, on the payload
and, for a stream, on each event from the last back; the best attempt counts. So does LiteLLM
(bench/litellm_reference.py): each transformation LiteLLM itself runs on the provider's response
(chat, Responses, Interactions, the stream chunk parsers and stream_chunk_builder), on the
payload and on each stream event; the best attempt counts.

    make corpus-compare            # or: python bench/corpus_compare.py [--verbose]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from typing import Any

from genai_prices import data_snapshot, extract_usage

from ingest.detect import normalise_payload

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
PRICED = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
ALL = (*PRICED, "cache_write_1h_tokens", "reasoning_tokens")
# The case's provider (who served it) as genai-prices names it.
GENAI_PROVIDER = {"xai": "x-ai", "x-ai": "x-ai", "aws": "aws", "bedrock": "aws"}
# The LiteLLM release bench/litellm_reference.py reads (the dev extra's pin in pyproject.toml).
PINNED_LITELLM = "1.110.2"


def cases() -> Iterator[dict[str, Any]]:
    """Every corpus case, with its family (folder)."""
    for path in sorted(CORPUS.rglob("*.json")):
        yield {**json.loads(path.read_text()), "family": path.parent.name}


def cachemeter_counts(case: dict[str, Any]) -> dict[str, int] | None:
    """cachemeter's counts with the provider hint, or None when it refuses the payload."""
    try:
        usage = normalise_payload(case["payload"], case["provider"], case["model"]).usage
    except ValueError:
        return None
    return {name: getattr(usage, name) for name in ALL}


def _flavors(provider: str) -> list[str]:
    snapshot = data_snapshot.get_snapshot()
    found = next((p for p in snapshot.providers if p.id == provider), None)
    return [e.api_flavor for e in (getattr(found, "extractors", None) or [])] or ["default"]


def genai_attempts(case: dict[str, Any]) -> Iterator[dict[str, int]]:
    """What genai-prices extracts, attempt by attempt (flavor x payload or stream event)."""
    provider = GENAI_PROVIDER.get(case["provider"], case["provider"])
    payload = case["payload"]
    bodies = [payload] if isinstance(payload, dict) else list(reversed(payload))
    for flavor in _flavors(provider):
        for body in bodies:
            if not isinstance(body, dict):
                continue
            try:
                usage = extract_usage(body, provider_id=provider, api_flavor=flavor).usage
            except Exception:  # genai-prices raises many kinds for a payload it cannot read
                continue
            yield {name: int(getattr(usage, name, None) or 0) for name in PRICED}


def load_litellm() -> ModuleType | None:
    """bench/litellm_reference.py, or None when litellm is not installed (it is optional)."""
    if find_spec("litellm") is None:
        return None
    import litellm_reference  # an installed litellm it cannot read is an error, not "absent"

    return litellm_reference


def score(litellm: ModuleType | None = None) -> dict[str, list[str]]:
    """The cases each tool gets exact on the priced counts ("cachemeter-all": on all six);
    LiteLLM's ("litellm") too when its reference module is given."""
    exact: dict[str, list[str]] = {"cases": [], "cachemeter": [], "cachemeter-all": []}
    exact["genai-prices"] = []
    if litellm is not None:
        exact["litellm"] = []
    for case in cases():
        expected, label = case["expected"], f"{case['family']}/{case['name']}"
        exact["cases"].append(label)
        ours = cachemeter_counts(case)
        if ours is not None and all(ours[k] == expected[k] for k in PRICED):
            exact["cachemeter"].append(label)
            if all(ours[k] == expected[k] for k in ALL):
                exact["cachemeter-all"].append(label)
        if any(all(a[k] == expected[k] for k in PRICED) for a in genai_attempts(case)):
            exact["genai-prices"].append(label)
        if litellm is not None and any(
            all(a[k] == expected[k] for k in PRICED) for _, a in litellm.attempts(case)
        ):
            exact["litellm"].append(label)
    return exact


def main() -> None:
    """Print each tool's exact count on the corpus."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list the cases each tool misses")
    args = parser.parse_args()
    litellm = load_litellm()
    exact = score(litellm)
    total = len(exact["cases"])
    tools = ["cachemeter", "genai-prices"]
    if litellm is None:
        litellm_line = f"not installed (pip install litellm=={PINNED_LITELLM} to score it)"
    else:
        tools.append("litellm")
        litellm_line = f"{len(exact['litellm'])}/{total} exact on priced counts"
        if (installed := version("litellm")) != PINNED_LITELLM:
            litellm_line += f" (litellm {installed}; the entry points are {PINNED_LITELLM}'s)"
    print(f"corpus: {total} recorded cases (tests/corpus)")
    print(
        f"cachemeter    {len(exact['cachemeter'])}/{total} exact on priced counts,"
        f" {len(exact['cachemeter-all'])} on all six"
    )
    print(f"genai-prices  {len(exact['genai-prices'])}/{total} exact on priced counts")
    print(f"litellm       {litellm_line}")
    if args.verbose:
        for tool in tools:
            missed = [c for c in exact["cases"] if c not in exact[tool]]
            print(f"\n{tool} misses {len(missed)}:", *missed, sep="\n  ")


if __name__ == "__main__":
    main()
