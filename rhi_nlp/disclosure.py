"""Statistical disclosure control for published figures (GSS/Ofqual practice, ESTIMATION.md s.5).

Point estimates below the threshold are shown as "fewer than 5"; figures are rounded to base 5
(base 10 above 1,000); interval limits are rounded outward (floor the lower, ceil the upper) so
coverage is not lost; a lower limit below the threshold is shown as "fewer than 5"; percentages
come from unrounded values; raw audit counts below the threshold are never shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DisclosureRule:
    threshold: int = 5
    base: int = 5
    base_large: int = 10
    large_from: int = 1000

    def __post_init__(self) -> None:
        if self.threshold < 0 or self.base < 1 or self.base_large < 1:
            raise ValueError("threshold must be >= 0 and rounding bases >= 1")

    def _base(self, v: float) -> int:
        return self.base_large if v > self.large_from else self.base

    @property
    def below(self) -> str:
        return f"fewer than {self.threshold}"


@dataclass(frozen=True)
class Disclosed:
    estimate: int | None       # None when suppressed
    ci_low: int | None         # None when shown as "fewer than T"
    ci_high: int | None
    share: float | None        # percentage from unrounded values, None when suppressed
    suppressed: bool
    text_estimate: str
    text_low: str
    text_high: str
    text_denominator: str = ""
    reason: str | None = None  # "small count", "small group" or "nearly all" when suppressed


WITHHELD = "c"


def disclose(point: float, lower: float, upper: float, denominator: int, rule: DisclosureRule = DisclosureRule()) -> Disclosed:
    """Published figures for one estimate. Besides small counts, a group is withheld whole when
    its denominator is below the threshold or when nearly all of it has the theme (fewer than the
    threshold without it), since either would disclose individuals; limits never exceed the group."""
    den = count_text(denominator, rule)
    if denominator and denominator < rule.threshold:
        return Disclosed(None, None, None, None, True, WITHHELD, WITHHELD, WITHHELD, den, "small group")
    if upper == 0:  # a true zero is shown as 0
        return Disclosed(0, 0, 0, 0.0, False, "0", "0", "0", den)
    if point >= rule.threshold and denominator - point < rule.threshold:
        return Disclosed(None, None, None, None, True, WITHHELD, WITHHELD, WITHHELD, den, "nearly all")
    hi = min(_ceil(upper, rule), denominator) if denominator else _ceil(upper, rule)
    if point < rule.threshold:
        show_hi = hi if upper >= rule.threshold and hi >= rule.threshold else None
        return Disclosed(None, None, show_hi, None, True, rule.below, rule.below,
                         _fmt(show_hi) if show_hi is not None else rule.below, den, "small count")
    est = _round(point, rule)
    lo = _floor(lower, rule)
    lo_out = None if lower < rule.threshold or lo < rule.threshold else lo
    share = round(100 * point / denominator, 1) if denominator else None
    return Disclosed(est, lo_out, hi, share, False, _fmt(est), rule.below if lo_out is None else _fmt(lo),
                     _fmt(hi), den)


def count_text(n: int, rule: DisclosureRule = DisclosureRule()) -> str:
    """A count of RHIs or children as published: below the threshold shown as 'fewer than T'."""
    return rule.below if 0 < n < rule.threshold else _fmt(n)


def _round(v: float, rule: DisclosureRule) -> int:
    b = rule._base(v)
    return int(b * math.floor(v / b + 0.5))


def _floor(v: float, rule: DisclosureRule) -> int:
    b = rule._base(v)
    return int(b * math.floor(v / b + 1e-9))


def _ceil(v: float, rule: DisclosureRule) -> int:
    b = rule._base(v)
    return int(b * math.ceil(v / b - 1e-9))


def _fmt(v: int) -> str:
    return f"{v:,}"


def audit_count_text(x: int, rule: DisclosureRule = DisclosureRule()) -> str:
    """An audit cell count, never shown below the threshold (a true 0 is shown as 0)."""
    return str(x) if x == 0 or x >= rule.threshold else rule.below
