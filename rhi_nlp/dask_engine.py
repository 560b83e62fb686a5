"""Tagging a dataset on a Dask cluster (``rhi-nlp tag --engine dask``; the ``rhi-nlp[dask]`` extra).

The same tagger as on one machine is applied partition by partition (``dask.dataframe`` with
``distributed``): each worker process loads the model once, from its folder, verified by the same
hash checks as ``rhi-nlp tag``, and keeps it for every partition it is given. By default a local
cluster of one worker process per core is started; ``--scheduler ADDRESS`` uses a running one
(every worker must then see the model folder at the same path and have rhi-nlp installed).

Rows keep the dataset's order; ids are checked for blanks within each partition (a duplicate across
partitions is not detected here: check ids before pooling, or tag on one machine).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import InputError
from .io import check_new_folder

_TAGGERS: dict = {}


def _tagger(model_dir: str):
    if model_dir not in _TAGGERS:
        from .persistence import load_model
        from .tagging import Tagger

        _TAGGERS[model_dir] = Tagger(load_model(model_dir))
    return _TAGGERS[model_dir]


def tag_partition(df: pd.DataFrame, model_dir: str, text_col: str) -> pd.DataFrame:
    """Tag one partition: its columns, then the columns `rhi-nlp tag` adds."""
    tagger = _tagger(model_dir)
    added, _ = tagger.tag_texts(df[text_col].tolist())
    out = pd.concat([df.reset_index(drop=True), added], axis=1)
    out.index = df.index
    return out


def tag_dataset(input_path: str | Path, output_path: str | Path, model_dir: str | Path, *, id_col: str = "id",
                text_col: str = "narrative", scheduler: str | None = None, workers: int | None = None) -> int:
    """Tag a Parquet file or folder into a Parquet folder on a Dask cluster; returns the row count."""
    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--engine dask needs Dask: pip install 'rhi-nlp[dask]'") from None
    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.exists():
        raise InputError(f"{input_path}: file not found")
    if input_path.is_file() and input_path.suffix.lower() not in (".parquet", ".pq"):
        raise InputError(f"{input_path}: --engine dask reads Parquet (a file or a folder of files)")
    check_new_folder(output_path)
    model_dir = str(Path(model_dir).resolve())
    ddf = dd.read_parquet(str(input_path))
    for c in (id_col, text_col):
        if c not in ddf.columns:
            raise InputError(f"{input_path}: column {c!r} not found; pass --id-col / --text-col")
    # the output's column types, from tagging two real rows (an empty frame would leave them unknown)
    meta = tag_partition(ddf.head(2, npartitions=-1), model_dir, text_col).iloc[:0]
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        from .parallel import default_workers

        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=50)
        client = Client(cluster)
    try:
        out = ddf.map_partitions(tag_partition, model_dir, text_col, meta=meta)
        out.to_parquet(str(output_path), write_index=False)
        return int(dd.read_parquet(str(output_path), columns=[id_col]).shape[0].compute())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
