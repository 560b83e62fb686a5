"""Audit-sample designs (pure numpy): simple random sampling without replacement and
score-stratified sampling with Neyman allocation and a floor in the low-score band."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

S_FLOOR = 0.02   # added to fbar(1 - fbar) so the low-score band always gets labels
MIN_PER_BAND = 5


@dataclass(frozen=True)
class AuditDesign:
    sample: np.ndarray       # indices into the population, sorted
    strata: np.ndarray       # stratum of every population unit (all 0 for SRS)
    inclusion: np.ndarray    # inclusion probability of every population unit
    design: str


def score_bands(f: np.ndarray, n_bands: int = 5) -> np.ndarray:
    """Equal-count bands of the score, 0 = lowest (ties broken by position, deterministically)."""
    f = np.asarray(f, float)
    order = np.argsort(f, kind="stable")
    bands = np.empty(len(f), dtype=int)
    bands[order] = (np.arange(len(f)) * n_bands) // max(len(f), 1)
    return bands


def srs(N: int, n: int, rng: np.random.Generator) -> AuditDesign:
    if not 0 < n <= N:
        raise ValueError(f"sample size must be between 1 and {N}, got {n}")
    # the first n of a random permutation: with the same seed a larger sample contains a smaller
    # one, so a labelled pilot can be extended rather than thrown away
    sample = np.sort(rng.permutation(N)[:n])
    return AuditDesign(sample=sample, strata=np.zeros(N, dtype=int), inclusion=np.full(N, n / N), design="random")


def neyman_allocation(f: np.ndarray, strata: np.ndarray, n: int, *, floor: float = S_FLOOR,
                      min_per_band: int = MIN_PER_BAND) -> dict[int, int]:
    """n_h proportional to N_h S_h with S_h = sqrt(fbar_h (1 - fbar_h) + floor), at least
    min(min_per_band, N_h) per band, leftovers to the largest N_h S_h / n_h."""
    f = np.asarray(f, float)
    labels = np.unique(strata)
    N_h = np.array([(strata == h).sum() for h in labels])
    fbar = np.array([f[strata == h].mean() for h in labels])
    S_h = np.sqrt(fbar * (1 - fbar) + floor)
    if n > N_h.sum():
        raise ValueError(f"sample size {n} is larger than the population ({N_h.sum()})")
    base = np.minimum(np.minimum(min_per_band, N_h), n // len(labels))
    alloc = base.copy()
    rest = n - alloc.sum()
    weight = N_h * S_h
    if rest > 0:
        share = np.floor(rest * weight / weight.sum()).astype(int)
        alloc = np.minimum(alloc + share, N_h)
    while alloc.sum() < n:
        room = alloc < N_h
        prio = np.where(room, weight / np.maximum(alloc, 1), -np.inf)
        alloc[int(np.argmax(prio))] += 1
    return {int(h): int(a) for h, a in zip(labels, alloc)}


def stratified(f: np.ndarray, n: int, rng: np.random.Generator, *, n_bands: int = 5) -> AuditDesign:
    f = np.asarray(f, float)
    N = len(f)
    n_bands = max(1, min(n_bands, n // 2, N))
    strata = score_bands(f, n_bands)
    alloc = neyman_allocation(f, strata, n)
    picks, incl = [], np.zeros(N)
    for h, n_h in alloc.items():
        members = np.flatnonzero(strata == h)
        picks.append(rng.choice(members, size=n_h, replace=False))
        incl[members] = n_h / len(members)
    return AuditDesign(sample=np.sort(np.concatenate(picks)), strata=strata, inclusion=incl, design="stratified")
