"""Execute the notebooks the build is about to read on both cores, before Sphinx reads them.

In cache mode myst-nb executes a notebook when Sphinx reads it, so a build runs the chapters one
after another. Just before the reading starts (Sphinx's ``env-before-read-docs``), this extension
executes every notebook that jupyter-cache has no record of on a pool of workers
(``GENAE_BOOK_WORKERS``; by default as many as the cores, at most 2), the longest first
(``execute_ahead_first`` in the book's config), with the call myst-nb makes (the same working
folder, timeout and ``allow_errors``), and caches each that succeeds. myst-nb then finds them in
the cache and renders them. A notebook that fails is not cached: myst-nb executes it again and
reports the error as it always does.

Each kernel gets ``cores // workers`` torch threads (``OMP_NUM_THREADS``, unless it is set), so the
kernels do not fight over the cores: on 2 cores, two kernels of one thread; and so even when one
notebook is left to run, so that its numbers do not depend on how many the build had to execute.
Results depend on the thread count (the README's "Reproducibility"), so they do on the cores of
the machine that builds.

Measured on 2 cores (2026-12-04, the four shared models cached): the eleven chapters took 331 s
one after another on 2 threads each, and 250 s on 2 workers of 1 thread (chapter 09: 215 s); in
a fresh clone's ``make test``, 245 s of a 249 s build.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from sphinx.util import logging

logger = logging.getLogger(__name__)
MAX_WORKERS = 2  # measured on 2 cores; with more, chapter 09 alone bounds the time anyway


def worker_count() -> int:
    """Workers from GENAE_BOOK_WORKERS, else as many as the cores, at most MAX_WORKERS."""
    value = os.environ.get("GENAE_BOOK_WORKERS", "")
    if not value:
        return max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"GENAE_BOOK_WORKERS={value!r} must be a whole number of at least 1 "
                         "(notebooks the book build executes at once); unset it for the default")
    return int(value)


def kernel_threads(workers: int) -> str:
    """Torch threads per kernel: OMP_NUM_THREADS when set, else cores // workers (at least 1)."""
    return os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // workers))


def execute_ahead(cache_path: str, paths: list[Path], workers: int, timeout: int | None,
                  allow_errors: bool) -> dict[Path, float | None]:
    """Execute the notebooks at ``paths`` that ``cache_path`` has no record of, ``workers`` at once,
    in the order given (the longest first keeps both cores busy to the end).

    Returns each executed notebook's seconds, ``None`` for one that failed (left uncached).
    """
    cache = get_cache(cache_path)
    todo = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(nb)
        except KeyError:  # no record: execute it
            todo[path] = nb

    def run(path: Path):
        try:
            return single_nb_execution(todo[path], cwd=str(path.parent), timeout=timeout,
                                       allow_errors=allow_errors, meta_override=True)
        except Exception:  # a dead kernel, say: myst-nb's own run will report it
            return None

    threads, before = kernel_threads(workers), os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = threads  # the kernels started below inherit it
    seconds = {}
    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = {pool.submit(run, path): path for path in todo}
            for future in as_completed(futures):  # the cache is written from this thread only
                path, result = futures[future], future.result()
                failed = result is None or result.err is not None
                seconds[path] = None if failed else result.time
                if not failed:  # a failure is left to myst-nb, which reports it
                    record = cache.add_nb_to_project(str(path))
                    bundle = CacheBundleIn(todo[path], record.uri,
                                           data={"execution_seconds": result.time})
                    cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
    return seconds


def _before_read(app, env, docnames: list[str]) -> None:
    config = env.mystnb_config  # myst-nb's settings, with the cache path it resolved
    if config.execution_mode != "cache" or config.execution_in_temp:
        return
    first = [d for d in app.config.execute_ahead_first if d in docnames]
    paths = [Path(env.doc2path(d)) for d in first + [d for d in docnames if d not in first]]
    paths = [p for p in paths if p.suffix == ".ipynb" and not any(
        p.match(pattern) for pattern in config.execution_excludepatterns)]
    workers = worker_count()
    if not paths or workers < 2:
        return
    logger.info(f"execute_ahead: up to {len(paths)} notebooks on {workers} workers, "
                f"{kernel_threads(workers)} torch thread(s) each")
    results = execute_ahead(config.execution_cache_path, paths, workers,
                            config.execution_timeout, config.execution_allow_errors)
    for path, seconds in results.items():
        done = "failed (myst-nb runs it again)" if seconds is None else f"{seconds:.1f} s"
        logger.info(f"execute_ahead: {path.name}: {done}")


def setup(app):
    app.add_config_value("execute_ahead_first", [], "env")  # docnames of the longest notebooks
    app.connect("env-before-read-docs", _before_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
