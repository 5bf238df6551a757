"""The cache advisor's rules: what to change, per app and prefix, and what it is worth.

Each rule reads sums over the requests of a range (store.advice, store.economics) and the
prices in force at the range's end; the money is what the range's own requests would have
cost less at those prices, scaled from the range's length to a 30-day month. Estimates are
conservative: a request counts as one that would have hit only where the provider's own rule
says it would (the previous request of the same app, model and cache key came within the
provider's likely TTL), and the tokens it would have read are the fewest the evidence shows
(the smallest read the group did have, else the model's minimum cacheable length). A change
seen only in the last 24 hours of a group is priced at that day's pace instead. Rates are per
million tokens: `in` input, `rd` cache read, `wr` 5-minute cache write, `wr1h` 1-hour write.

Terms. A request's *group* is its (app, provider, model, prompt cache key or none); its
*previous* request is the group's latest earlier one, in the range or at most an hour (or the
longest TTL) before its start (store.advice.lookback); it is *warm* when that came
at most the provider's likely TTL before (cache.misses.LIKELY_TTL_SECONDS, 5 minutes where
unknown). `m` is the model's minimum cacheable prompt (cache.misses.minimum_cacheable; 1,024
where unknown). `c` is the group's smallest cache read in the range, else `m`.

Kinds (saving in the range, before scaling):

- `add_cache_control`: Claude (any provider) requests of at least `m` input with neither
  reads nor writes (nothing marked with cache_control). H of them are warm with an unchanged
  prefix hash (where both carry one), W = the rest: with the `m`-token minimum marked, H read
  it and W write it: H*m*(in - rd) - W*m*(wr - in).
- `use_prompt_cache_key`: OpenAI/Azure requests without a prompt cache key, per prefix hash:
  of the requests of at least `m` input that came within the TTL of the previous one of the
  same prefix, WM read nothing although some others (the hits) did read; erratic when WM is
  at least a tenth of them. WM*c*(in - rd), `c` the prefix's smallest read.
- `prefix_changes`: a group whose requests begin with a prefix hash the previous request did
  not have on most (at least half) of those that follow one, over the range or over the
  group's last 24 hours. The warm ones of them with at least `m` input that read nothing, N,
  would have read `c`: N*c*(in - rd). When only the last 24 hours show the pattern (a recent
  change), the saving is at that day's pace: the last 24 hours' N, times 30 days.
- `below_minimum`: requests that read nothing with input from m/2 up to under `m`. Padding
  the stable start to `m` tokens, assuming half of the shortest such prompt, s, is stable
  already: warm ones H read `m` and send the rest plain, the others W write `m`:
  H*(s*in - m*rd) + W*(s*in - m*wr).
- `use_1h_ttl`: a prefix whose 5-minute writes came 5-60 minutes after its previous use, on a
  model with a 1-hour write price above the 5-minute one: minus the 1-hour what-if
  (billing.economics.what_if_priced) where that is a saving.
- `ttl_too_short`: OpenAI/Azure requests of at least `m` input that read nothing though the
  group's previous request, of the same prefix where both carry one, came after the TTL but
  within the hour; extended prompt cache retention would have kept the prefix: E*c*(in - rd).
- `losing_prefix`: a prefix whose cache cost more than it saved (its net savings, as billed,
  are negative): not caching it saves that much.
- `model_does_not_cache`: a group on a model priced with no cache discount (rd >= in) where
  the provider prices a sibling that caches (the same family name, `step-` for `step-3`; of
  those, the longest shared name, then the nearest input price): the group's tokens at the
  sibling's prices, its warm requests of at least `m` input reading `m`, against its tokens
  at its own: (I*in + O*out) - (I*in_s + O*out_s - H*m*(in_s - rd_s)).

A prefix that is both `use_1h_ttl` and `losing_prefix` gets the one that saves more (a 1-hour
TTL saves more exactly when it makes the prefix pay). A finding is kept when its monthly
saving is above 0 and reaches `min_saving` (in the price's currency), and the requests it
rests on reach `min_requests`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, get_args

from billing.charge import MTOK, to_money
from billing.economics import WhatIfCounts, what_if_priced
from billing.price import Rates
from cache.misses import LIKELY_TTL_SECONDS, minimum_cacheable

Kind = Literal[
    "add_cache_control",
    "use_prompt_cache_key",
    "prefix_changes",
    "below_minimum",
    "use_1h_ttl",
    "ttl_too_short",
    "losing_prefix",
    "model_does_not_cache",
]
KINDS: tuple[str, ...] = get_args(Kind)
MONTH_DAYS = 30
DEFAULT_TTL = 300
DEFAULT_MINIMUM = 1024
# Providers whose automatic prefix caching routes by a prompt cache key and offers extended
# retention (OpenAI's prompt_cache_key and prompt_cache_retention; Azure OpenAI's too).
KEYED_PROVIDERS = ("openai", "azure")
ERRATIC_SHARE = Decimal("0.1")
MOST = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Settings:
    """When a finding is worth showing."""

    min_saving: Decimal = Decimal(1)
    min_requests: int = 20


@dataclass(frozen=True, slots=True)
class PriceView:
    """The price in force for a model: its currency and per-MTok rates."""

    currency: str
    rates: Rates


@dataclass(frozen=True, slots=True)
class RequestGroup:
    """Sums over a group's requests in the range (store.advice.advice_sums)."""

    app: str | None
    provider: str
    model: str | None
    prompt_cache_key: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    smallest_read: int | None
    # Neither read nor written, input >= m; of them warm with the prefix unchanged.
    plain: int
    plain_warm: int
    # Read nothing, m/2 <= input < m; of them warm; the shortest and longest input.
    short: int
    short_warm: int
    short_min: int | None
    short_max: int | None
    # Follow a request with a prefix hash and carry one; of them with a new one; of those
    # warm, input >= m, nothing read. The same over the group's last 24 hours.
    prefix_follows: int
    new_prefix: int
    new_prefix_misses: int
    recent_prefix_follows: int
    recent_new_prefix: int
    recent_new_prefix_misses: int
    # Read nothing, input >= m, prefix unchanged, after the TTL but within the hour.
    expired_within_hour: int
    # Warm, input >= m.
    warm: int


@dataclass(frozen=True, slots=True)
class KeylessPrefix:
    """Sums over a prefix's requests sent without a prompt cache key
    (store.advice.advice_sums)."""

    app: str | None
    provider: str
    model: str | None
    prefix: str
    requests: int
    # Within the TTL of the prefix's previous request, input >= m; of them read nothing; read.
    warm: int
    warm_misses: int
    warm_hits: int
    smallest_read: int | None


@dataclass(frozen=True, slots=True)
class PrefixGroup:
    """A prefix's sums in the range as billed (store.economics.prefix_groups)."""

    app: str | None
    prefix: str
    provider: str
    model: str | None
    currency: str | None
    requests: int
    write_requests: int
    read_requests: int
    write_tokens: int
    read_tokens: int
    whatif: WhatIfCounts
    savings: Decimal | None


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of advice, with its evidence and its money."""

    kind: str
    app: str | None
    provider: str
    model: str | None
    currency: str
    saving_in_range: Decimal
    monthly_saving: Decimal
    recommendation: str
    explanation: str
    evidence: dict[str, int | str] = field(default_factory=dict)
    prompt_cache_key: str | None = None
    prefix: str | None = None
    requests: int = 0


Prices = Callable[[str, str | None], PriceView | None]
Siblings = Callable[[str, str | None], tuple[str, PriceView] | None]


def ttl_seconds(provider: str) -> int:
    """How long the provider likely keeps an unused prefix."""
    return LIKELY_TTL_SECONDS.get(provider, DEFAULT_TTL)


def minimum_tokens(provider: str, model: str | None) -> int:
    """The model's minimum cacheable prompt, or the common 1,024 where unknown."""
    return minimum_cacheable(provider, model) or DEFAULT_MINIMUM


def is_claude(model: str | None) -> bool:
    """Claude models cache only what cache_control marks, on every provider serving them."""
    return "claude" in (model or "").lower()


def _money(tokens_times_rate: Decimal) -> Decimal:
    return to_money(tokens_times_rate / MTOK)


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} minutes"


def _who(app: str | None) -> str:
    return app or "(no app)"


def _tokens(n: int) -> str:
    return f"{n:,}"


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class _Draft:
    kind: str
    saving: Decimal
    monthly: Decimal
    requests: int
    recommendation: str
    explanation: str
    evidence: dict[str, int | str]


def _add_cache_control(g: RequestGroup, p: PriceView, month: Decimal) -> _Draft | None:
    if not is_claude(g.model) or not g.plain:
        return None
    r, m = p.rates, minimum_tokens(g.provider, g.model)
    hits, writes = g.plain_warm, g.plain - g.plain_warm
    saving = _money(hits * m * (r.input - r.cache_read) - writes * m * (r.cache_write - r.input))
    ttl = ttl_seconds(g.provider)
    return _Draft(
        "add_cache_control",
        saving,
        saving * month,
        g.plain,
        f"Mark the stable start of {_who(g.app)}'s prompts (tools, system prompt) with "
        f"cache_control: {g.plain:,} of its {g.model} requests above the {_tokens(m)}-token "
        "minimum were sent without it.",
        f"{hits:,} of them came within {_minutes(ttl)} of the previous one and would have read "
        f"at least the {_tokens(m)}-token minimum at {_rate(r.cache_read)} instead of "
        f"{_rate(r.input)} per MTok; the other {writes:,} would have written it at "
        f"{_rate(r.cache_write)}. Only the minimum is counted as stable: a longer stable part "
        "saves more.",
        {"requests": g.plain, "would_hit": hits, "would_write": writes, "minimum_tokens": m},
    )


def _cached_part(g: RequestGroup) -> int:
    return g.smallest_read or minimum_tokens(g.provider, g.model)


def _prefix_changes(g: RequestGroup, p: PriceView, month: Decimal) -> _Draft | None:
    whole = g.prefix_follows and g.new_prefix >= MOST * g.prefix_follows
    recent = g.recent_prefix_follows and g.recent_new_prefix >= MOST * g.recent_prefix_follows
    if not (whole or recent):
        return None
    r, c = p.rates, _cached_part(g)
    misses = g.new_prefix_misses if whole else g.recent_new_prefix_misses
    saving = _money(misses * c * (r.input - r.cache_read))
    monthly = saving * (month if whole else MONTH_DAYS)
    follows, new = (
        (g.prefix_follows, g.new_prefix)
        if whole
        else (g.recent_prefix_follows, g.recent_new_prefix)
    )
    pace = "" if whole else " in its last 24 hours (a recent change; the saving is at that pace)"
    return _Draft(
        "prefix_changes",
        saving,
        monthly,
        new,
        f"Keep the start of {_who(g.app)}'s prompts the same from request to request: move "
        "timestamps, ids and per-request examples after the stable part.",
        f"{new:,} of {follows:,} requests{pace} began with a prefix the previous one did not "
        f"have; {misses:,} of them came within {_minutes(ttl_seconds(g.provider))} of it and "
        f"read nothing, and would have read {_tokens(c)} tokens (the least this key did read) "
        f"at {_rate(r.cache_read)} instead of {_rate(r.input)} per MTok.",
        {
            "requests": follows,
            "new_prefix": new,
            "would_hit": misses,
            "cached_tokens": c,
            "window": "range" if whole else "last 24 hours",
        },
    )


def _below_minimum(g: RequestGroup, p: PriceView, month: Decimal) -> _Draft | None:
    if not g.short or g.short_min is None or g.short_max is None:
        return None
    r, m = p.rates, minimum_tokens(g.provider, g.model)
    stable = g.short_min // 2
    hits, writes = g.short_warm, g.short - g.short_warm
    saving = _money(
        hits * (stable * r.input - m * r.cache_read)
        + writes * (stable * r.input - m * r.cache_write)
    )
    return _Draft(
        "below_minimum",
        saving,
        saving * month,
        g.short,
        f"Lengthen the stable start of {_who(g.app)}'s prompts to {g.model}'s "
        f"{_tokens(m)}-token caching minimum (fuller instructions or examples, before the "
        "variable part).",
        f"{g.short:,} requests of {_tokens(g.short_min)}-{_tokens(g.short_max)} tokens are just "
        f"under the minimum and cache nothing. Padded, with {_tokens(stable)} tokens (half the "
        f"shortest) taken as stable already, the {hits:,} that came within "
        f"{_minutes(ttl_seconds(g.provider))} of the previous one would read {_tokens(m)} at "
        f"{_rate(r.cache_read)} per MTok instead of sending {_tokens(stable)} at "
        f"{_rate(r.input)}, and the other {writes:,} would write them at {_rate(r.cache_write)}.",
        {
            "requests": g.short,
            "would_hit": hits,
            "would_write": writes,
            "minimum_tokens": m,
            "stable_tokens": stable,
        },
    )


def _ttl_too_short(g: RequestGroup, p: PriceView, month: Decimal) -> _Draft | None:
    if g.provider not in KEYED_PROVIDERS or not g.expired_within_hour:
        return None
    r, c = p.rates, _cached_part(g)
    saving = _money(g.expired_within_hour * c * (r.input - r.cache_read))
    return _Draft(
        "ttl_too_short",
        saving,
        saving * month,
        g.expired_within_hour,
        f'Keep {_who(g.app)}\'s prefix cached longer: send prompt_cache_retention "24h" '
        "(extended prompt caching, where the model offers it).",
        f"{g.expired_within_hour:,} requests read nothing although the previous one of the "
        f"same prefix came {_minutes(ttl_seconds(g.provider))} to an hour before (the in-memory "
        f"cache had let it go); kept, they would have read {_tokens(c)} tokens at "
        f"{_rate(r.cache_read)} instead of {_rate(r.input)} per MTok.",
        {"requests": g.expired_within_hour, "would_hit": g.expired_within_hour, "cached_tokens": c},
    )


def _model_does_not_cache(
    g: RequestGroup, p: PriceView, sibling: tuple[str, PriceView] | None, month: Decimal
) -> _Draft | None:
    r = p.rates
    if sibling is None or r.cache_read < r.input or sibling[1].currency != p.currency:
        return None
    name, s = sibling[0], sibling[1].rates
    m = minimum_tokens(g.provider, name)
    now = g.input_tokens * r.input + g.output_tokens * r.output
    then = (
        g.input_tokens * s.input
        + g.output_tokens * s.output
        - g.warm * m * (s.input - s.cache_read)
    )
    saving = _money(now - then)
    return _Draft(
        "model_does_not_cache",
        saving,
        saving * month,
        g.requests,
        f"Move {_who(g.app)} from {g.model}, which {g.provider} does not cache, to {name}, "
        "which it does.",
        f"{g.requests:,} requests sent {_tokens(g.input_tokens)} input and "
        f"{_tokens(g.output_tokens)} output tokens; at {name}'s prices ({_rate(s.input)} in, "
        f"{_rate(s.output)} out, {_rate(s.cache_read)} cached, per MTok), with the {g.warm:,} "
        f"that came within {_minutes(ttl_seconds(g.provider))} of the previous one reading its "
        f"{_tokens(m)}-token minimum, they cost that much less than at {g.model}'s "
        f"({_rate(r.input)} in, {_rate(r.output)} out).",
        {"requests": g.requests, "would_hit": g.warm, "sibling": name, "minimum_tokens": m},
    )


def _use_prompt_cache_key(k: KeylessPrefix, p: PriceView, month: Decimal) -> _Draft | None:
    if k.provider not in KEYED_PROVIDERS or not k.warm_hits or not k.warm_misses:
        return None
    if k.warm_misses < ERRATIC_SHARE * k.warm:
        return None
    r = p.rates
    c = k.smallest_read or minimum_tokens(k.provider, k.model)
    saving = _money(k.warm_misses * c * (r.input - r.cache_read))
    return _Draft(
        "use_prompt_cache_key",
        saving,
        saving * month,
        k.warm,
        f"Send a prompt_cache_key with {_who(k.app)}'s requests of this prefix, so they reach "
        "the servers that hold it.",
        f"{k.warm_misses:,} of {k.warm:,} requests that came within "
        f"{_minutes(ttl_seconds(k.provider))} of the previous one of the same prefix read "
        f"nothing while {k.warm_hits:,} read it; those misses would have read {_tokens(c)} "
        f"tokens (the least a hit read) at {_rate(r.cache_read)} instead of {_rate(r.input)} "
        "per MTok.",
        {
            "requests": k.warm,
            "warm_misses": k.warm_misses,
            "warm_hits": k.warm_hits,
            "cached_tokens": c,
        },
    )


def _use_1h_ttl(g: PrefixGroup, p: PriceView, month: Decimal) -> _Draft | None:
    r = p.rates
    if r.cache_write_1h <= r.cache_write or not g.whatif.hit_requests:
        return None
    saving = -what_if_priced(g.whatif, r).delta
    w = g.whatif
    return _Draft(
        "use_1h_ttl",
        saving,
        saving * month,
        g.requests,
        f'Write this prefix of {_who(g.app)} with a 1-hour TTL (cache_control ttl "1h").',
        f"{w.hit_requests:,} writes came 5 to 60 minutes after the prefix's previous use: "
        f"their {_tokens(w.hit_tokens)} tokens would have been read at {_rate(r.cache_read)} "
        f"instead of written at {_rate(r.cache_write)} per MTok, and the other "
        f"{_tokens(w.rewrite_tokens)} written tokens would cost {_rate(r.cache_write_1h)} "
        "instead.",
        {
            "requests": g.requests,
            "would_hit": w.hit_requests,
            "hit_tokens": w.hit_tokens,
            "rewrite_tokens": w.rewrite_tokens,
        },
    )


def _losing_prefix(g: PrefixGroup, month: Decimal) -> _Draft | None:
    if g.savings is None or g.savings >= 0:
        return None
    saving = -g.savings
    return _Draft(
        "losing_prefix",
        saving,
        saving * month,
        g.requests,
        f"Stop caching this prefix of {_who(g.app)}, or reuse it within its TTL: its cache "
        "writes cost more than its reads saved.",
        f"{g.write_requests:,} writes of {_tokens(g.write_tokens)} tokens and "
        f"{g.read_requests:,} reads of {_tokens(g.read_tokens)}: the cache cost this much more "
        "than sending the prefix plain, at the prices billed.",
        {
            "requests": g.requests,
            "write_requests": g.write_requests,
            "read_requests": g.read_requests,
        },
    )


def advise(
    groups: Iterable[RequestGroup],
    keyless: Iterable[KeylessPrefix],
    prefixes: Iterable[PrefixGroup],
    prices: Prices,
    siblings: Siblings,
    span_seconds: float,
    settings: Settings | None = None,
) -> list[Finding]:
    """The findings worth showing, largest monthly saving first."""
    settings = settings or Settings()
    month = Decimal(MONTH_DAYS * 86_400) / Decimal(str(span_seconds))
    found: list[Finding] = []

    def keep(
        draft: _Draft | None,
        app: str | None,
        provider: str,
        model: str | None,
        currency: str,
        prompt_cache_key: str | None = None,
        prefix: str | None = None,
    ) -> None:
        if draft is None or draft.requests < settings.min_requests:
            return
        monthly = draft.monthly.quantize(Decimal("0.01"))
        # Nothing to gain is no advice, whatever the threshold.
        if monthly <= 0 or monthly < settings.min_saving:
            return
        found.append(
            Finding(
                kind=draft.kind,
                app=app,
                provider=provider,
                model=model,
                currency=currency,
                saving_in_range=draft.saving,
                monthly_saving=monthly,
                recommendation=draft.recommendation,
                explanation=draft.explanation,
                evidence=draft.evidence,
                requests=draft.requests,
                prompt_cache_key=prompt_cache_key,
                prefix=prefix,
            )
        )

    for g in groups:
        price = prices(g.provider, g.model)
        if price is None:
            continue
        args = (g.app, g.provider, g.model, price.currency, g.prompt_cache_key)
        keep(_add_cache_control(g, price, month), *args)
        keep(_prefix_changes(g, price, month), *args)
        keep(_below_minimum(g, price, month), *args)
        keep(_ttl_too_short(g, price, month), *args)
        sibling = (
            siblings(g.provider, g.model) if price.rates.cache_read >= price.rates.input else None
        )
        keep(_model_does_not_cache(g, price, sibling, month), *args)
    for k in keyless:
        price = prices(k.provider, k.model)
        if price is not None:
            draft = _use_prompt_cache_key(k, price, month)
            keep(draft, k.app, k.provider, k.model, price.currency, prefix=k.prefix)
    for pg in prefixes:
        price = prices(pg.provider, pg.model)
        longer = _use_1h_ttl(pg, price, month) if price is not None else None
        losing = _losing_prefix(pg, month) if pg.currency is not None else None
        # One answer per prefix: a 1-hour TTL that saves more than not caching at all is what
        # makes the prefix pay; else not caching it saves more.
        if longer is not None and losing is not None:
            longer, losing = (longer, None) if longer.saving >= losing.saving else (None, losing)
        if longer is not None and price is not None:
            keep(longer, pg.app, pg.provider, pg.model, price.currency, prefix=pg.prefix)
        if losing is not None and pg.currency is not None:
            keep(losing, pg.app, pg.provider, pg.model, pg.currency, prefix=pg.prefix)
    return sorted(
        found,
        key=lambda f: (
            -f.monthly_saving,
            f.kind,
            str(f.app),
            f.provider,
            str(f.model),
            str(f.prompt_cache_key),
            str(f.prefix),
        ),
    )


def sibling_of(
    model: str, own: PriceView, candidates: Mapping[str, PriceView]
) -> tuple[str, PriceView] | None:
    """The caching model of the same family (the same name up to its first "-") that shares
    the longest name with `model`, then has the nearest input price; None if there is none."""
    family, dash, _ = model.lower().partition("-")
    if not dash:
        return None
    best: tuple[tuple[int, Decimal, str], str, PriceView] | None = None
    for name, price in candidates.items():
        low = name.lower()
        if name == model or not low.startswith(family + "-"):
            continue
        if price.rates.cache_read >= price.rates.input:
            continue
        shared = next(
            (i for i, (a, b) in enumerate(zip(low, model.lower(), strict=False)) if a != b),
            min(len(low), len(model)),
        )
        distance = abs(price.rates.input - own.rates.input)
        rank = (-shared, distance, name)
        if best is None or rank < best[0]:
            best = (rank, name, price)
    return (best[1], best[2]) if best is not None else None
