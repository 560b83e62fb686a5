"""Issue 10 (part): several worker processes give the same output as one, and a resumable run
killed part-way continues to the same bytes as a run never interrupted."""

from __future__ import annotations

import pytest

from rhi_nlp.tagging import tag_file

from .conftest import DEMO


class Killed(Exception):
    pass


def test_two_workers_write_exactly_what_one_writes(small_model, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    s1 = tag_file(DEMO, one, small_model, id_col="rhi_id", chunk_size=100, workers=1)
    s2 = tag_file(DEMO, two, small_model, id_col="rhi_id", chunk_size=100, workers=2)
    assert one.read_bytes() == two.read_bytes()
    assert s1.counts == s2.counts and s1.n_rows == s2.n_rows == 807


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_killed_resumable_run_continues_to_the_same_bytes(small_model, tmp_path, suffix):
    plain = tmp_path / f"plain{suffix}"
    tag_file(DEMO, plain, small_model, id_col="rhi_id", chunk_size=100)
    out = tmp_path / f"out{suffix}"
    seen = []

    def die_after_three_chunks(n):
        seen.append(n)
        if len(seen) == 3:
            raise Killed()

    with pytest.raises(Killed):
        tag_file(DEMO, out, small_model, id_col="rhi_id", chunk_size=100, resume=True,
                 progress=die_after_three_chunks)
    kept = tmp_path / f".out{suffix}.resume"
    assert not out.exists() and len(list(kept.glob("*.parquet"))) >= 2
    redone = []
    summary = tag_file(DEMO, out, small_model, id_col="rhi_id", chunk_size=100, resume=True,
                       progress=redone.append)
    assert out.read_bytes() == plain.read_bytes()
    assert summary.n_rows == 807 and sum(redone) == 807
    assert not kept.exists() and not list(tmp_path.glob(".*.part"))


def test_resume_starts_again_when_the_input_changed(small_model, tmp_path):
    import pandas as pd

    src = tmp_path / "in.csv"
    pd.read_csv(DEMO, dtype=str, keep_default_na=False).head(300).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    with pytest.raises(Killed):
        tag_file(src, out, small_model, id_col="rhi_id", chunk_size=100, resume=True,
                 progress=lambda n: (_ for _ in ()).throw(Killed()))
    df = pd.read_csv(src, dtype=str, keep_default_na=False)
    df.loc[0, "narrative"] = "Mum and dad row every night about money."
    df.to_csv(src, index=False)
    tag_file(src, out, small_model, id_col="rhi_id", chunk_size=100, resume=True)
    fresh = tmp_path / "fresh.csv"
    tag_file(src, fresh, small_model, id_col="rhi_id", chunk_size=100)
    assert out.read_bytes() == fresh.read_bytes()


def test_a_parquet_folder_in_and_out_and_dask_on_two_workers_give_the_same_rows(small_model, small_model_dir,
                                                                               tmp_path):
    import pandas as pd

    from rhi_nlp.dask_engine import tag_dataset

    src = tmp_path / "pooled"
    src.mkdir()
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    for k, part in enumerate((demo.iloc[:300], demo.iloc[300:600], demo.iloc[600:])):
        part.to_parquet(src / f"council-{k}.parquet", index=False)
    local = tmp_path / "tagged_local"
    summary = tag_file(src, local, small_model, id_col="rhi_id", chunk_size=100, workers=2)
    assert summary.n_rows == 807 and local.is_dir() and list(local.glob("part-*.parquet"))
    with pytest.raises(Exception, match="not empty"):
        tag_file(src, local, small_model, id_col="rhi_id")
    on_dask = tmp_path / "tagged_dask"
    assert tag_dataset(src, on_dask, small_model_dir, id_col="rhi_id", workers=2) == 807
    a = pd.read_parquet(local).reset_index(drop=True)
    b = pd.read_parquet(on_dask).reset_index(drop=True)
    assert list(a["rhi_id"]) == list(demo["rhi_id"])
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
