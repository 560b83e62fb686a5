import numpy as np
import pytest

from rhi_nlp.sampling import neyman_allocation, score_bands, srs, stratified


def test_sampling_bands_equal_count():
    bands = score_bands(np.linspace(0, 1, 100), 5)
    assert np.bincount(bands).tolist() == [20] * 5
    assert bands[0] == 0 and bands[-1] == 4


def test_sampling_neyman_floor_keeps_low_band():
    f = np.r_[np.full(800, 0.001), np.full(200, 0.6)]
    strata = np.r_[np.zeros(800, int), np.ones(200, int)]
    alloc = neyman_allocation(f, strata, 100)
    assert sum(alloc.values()) == 100
    assert alloc[0] >= 5 and alloc[1] > 100 * 200 / 1000  # high band oversampled, low band kept


def test_sampling_stratified_inclusion_probabilities():
    rng = np.random.default_rng(0)
    f = rng.uniform(size=500)
    d = stratified(f, 80, rng)
    assert len(d.sample) == 80 and len(set(d.sample)) == 80
    for h in np.unique(d.strata):
        members = d.strata == h
        assert d.inclusion[members][0] == pytest.approx(np.isin(np.flatnonzero(members), d.sample).sum() / members.sum())


def test_sampling_srs_bad_size():
    with pytest.raises(ValueError, match="between 1 and 10"):
        srs(10, 11, np.random.default_rng(0))
