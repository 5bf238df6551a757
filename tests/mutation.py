"""Hypothesis strategies that turn a valid JSON document into a hostile one: values swapped for
wrong types, extreme numbers, long, unicode and NUL text, keys removed or added, containers
wrapped, emptied or nested deep."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

HOSTILE_TEXT = [
    "",
    " ",
    "12",
    "-1",
    "1e9",
    "NaN",
    "Infinity",
    "\x00",
    "a\x00b",
    "ünïcode",
    "9" * 40,
    # Lower-casing doubles it (İ -> i̇): longer than a 64- or 128-character column once folded.
    "İ" * 70,
    "ß" * 129,
    "x" * 257,
    "x" * 5000,
    "\u202eevil",
    "🙂" * 65,
    "\ud800",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-02-30",
    "1969-12-31",
    "../../etc/passwd",
    "'; DROP TABLE usage_events; --",
    "<script>alert(1)</script>",
    "%00",
]
HOSTILE_NUMBERS = [
    0,
    -1,
    2**31,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    0.5,
    float("nan"),
    float("inf"),
]


def _deep(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value]
    return value


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEXT),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
    st.integers(min_value=30, max_value=60).map(lambda levels: _deep({"x": 1}, levels)),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON document, containers included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def mutate(document: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    """A copy of `document` with the node at `path` replaced, removed or wrapped."""
    if not path:
        return value if action == "replace" else [document] if action == "wrap" else {}
    head, rest = path[0], path[1:]
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    if rest:
        copy[head] = mutate(copy[head], rest, action, value)
    elif action == "remove":
        del copy[head]
    elif action == "wrap":
        copy[head] = {"nested": copy[head]}
    elif action == "add" and isinstance(copy, dict):
        copy[f"{head}_extra"] = value
    else:
        copy[head] = value
    return copy


@st.composite
def mutants(draw: st.DrawFn, document: Any, hostile: st.SearchStrategy[Any] = HOSTILE) -> Any:
    """`document` with one to three hostile changes."""
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(document)))
        action = draw(st.sampled_from(["replace", "replace", "remove", "wrap", "add"]))
        document = mutate(document, path, action, draw(hostile))
    return document
