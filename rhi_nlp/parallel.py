"""Tagging chunks on several processes, in order, with bounded memory.

Each worker process loads the model once (from its folder, verified as on one machine) and tags
the chunks it is sent; the parent keeps at most two chunks per worker in flight and yields the
results in the input's order, so the output is the same as with one worker and memory does not
grow with the file. Uses the standard library's ``concurrent.futures``.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from .persistence import Model

_TAGGER = None


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # Windows and macOS
        return max(1, os.cpu_count() or 1)


def _init_worker(model_dir: str) -> None:
    global _TAGGER
    from .persistence import load_model
    from .tagging import Tagger

    _TAGGER = Tagger(load_model(model_dir))


def _tag_in_worker(texts: list) -> tuple[pd.DataFrame, int]:
    return _TAGGER.tag_texts(texts)


def tag_chunks(chunks: Iterable[tuple[object, pd.DataFrame]], text_col: str, model: Model, workers: int
               ) -> Iterator[tuple[object, pd.DataFrame, tuple[pd.DataFrame, int]]]:
    """For each (key, chunk), in order, yield (key, chunk, (added columns, number truncated))."""
    if workers <= 1 or model.path is None:
        from .tagging import Tagger

        tagger = Tagger(model)
        for key, chunk in chunks:
            yield key, chunk, tagger.tag_texts(chunk[text_col].tolist())
        return
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(str(model.path),)) as pool:
        window: deque = deque()
        for key, chunk in chunks:
            window.append((key, chunk, pool.submit(_tag_in_worker, chunk[text_col].tolist())))
            if len(window) >= 2 * workers:
                key_, c, fut = window.popleft()
                yield key_, c, fut.result()
        while window:
            key_, c, fut = window.popleft()
            yield key_, c, fut.result()
