"""Resumable tagging: each finished chunk is kept beside the output until the run completes.

With ``rhi-nlp tag --resume``, every chunk's tagged rows are written (atomically) to a hidden
folder ``.OUTPUT.resume/`` as ``000000.parquet``, ``000001.parquet``, ...; when all are done the
output is assembled from them in order and the folder removed. Started again after a kill, the run
skips the chunks already there, so at most one chunk's work is repeated, and the output is
assembled by the same steps, byte for byte the same as a run that was never interrupted. The
folder's ``manifest.json`` ties the chunks to the input file (size, modification time, SHA-256),
the options and the model: if any differs, the old chunks are discarded and the run starts again.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from . import __version__
from .files import write_bytes
from .themes import file_sha256

TRUNCATED_KEY = b"rhi_nlp_truncated"


class Checkpoint:
    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def open(cls, input_path, output_path, model, options: dict) -> "Checkpoint":
        input_path, output_path = Path(input_path), Path(output_path)
        folder = output_path.with_name(f".{output_path.name}.resume")
        st = input_path.stat()
        manifest = {"format": 1, "rhi_nlp": __version__, "options": options,
                    "input": {"path": str(input_path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                              "sha256": file_sha256(input_path) if input_path.is_file() else None},
                    "model_sha256": (model.card or {}).get("model_sha256")}
        mfile = folder / "manifest.json"
        try:
            same = json.loads(mfile.read_text(encoding="utf-8")) == manifest
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            write_bytes(mfile, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        return cls(folder)

    def _file(self, k: int) -> Path:
        return self.folder / f"{k:06d}.parquet"

    def has(self, k: int) -> bool:
        return self._file(k).exists()

    def done(self) -> int:
        return len(list(self.folder.glob("*.parquet")))

    def save(self, k: int, df: pd.DataFrame, truncated: int) -> None:
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), TRUNCATED_KEY: str(truncated).encode()})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        write_bytes(self._file(k), buf.getvalue())  # a part file renamed into place: a kill leaves no half chunk

    def chunks(self) -> Iterator[tuple[pd.DataFrame, int]]:
        import pyarrow.parquet as pq

        for f in sorted(self.folder.glob("*.parquet")):
            table = pq.read_table(f)
            yield table.to_pandas(), int((table.schema.metadata or {}).get(TRUNCATED_KEY, b"0"))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
