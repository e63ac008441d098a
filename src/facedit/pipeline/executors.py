"""Where jobs run: in this process, in local worker processes, or on a Ray cluster. Each worker
builds its `Renderer` (the models) once and renders job after job; results come back to the
driver, which alone writes files. Registered by name; `EXECUTORS` feeds the error messages.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from facedit.errors import ConfigError

EXECUTORS: dict[str, Callable] = {}


def executor(name: str):
    def register(fn):
        EXECUTORS[name] = fn
        return fn
    return register


def run_jobs(config, jobs: list, renderer=None) -> Iterator:
    """Yield an `ImageResult` per job, in completion order, on the configured executor.
    `renderer`: an already built one, used by the in-process executor."""
    if not jobs:  # a finished run: start no worker, no cluster
        return iter(())
    name = config.pipeline.executor
    if name == "local" and config.pipeline.workers == 1:
        name = "serial"
    if name not in EXECUTORS:
        raise ConfigError(f"pipeline.executor: unknown {name!r}; expected one of "
                          f"{', '.join(sorted(EXECUTORS))}")
    return EXECUTORS[name](config, jobs, renderer)


@executor("serial")
def _serial(config, jobs: Iterable, renderer=None) -> Iterator:
    from facedit.pipeline.render import Renderer

    renderer = renderer or Renderer(config)
    for job in jobs:
        yield renderer.process(job)


# -- local processes ----------------------------------------------------------------------------

_WORKER = None  # this process's Renderer, built once by `_init_worker`


def _init_worker(config_dict: dict) -> None:
    global _WORKER
    from facedit.config import from_dict
    from facedit.pipeline.render import Renderer

    _WORKER = Renderer(from_dict(config_dict))


def _work(job):
    return _WORKER.process(job)


@executor("local")
def _processes(config, jobs: list, renderer=None) -> Iterator:
    """`workers` spawned processes (spawn, not fork: MediaPipe and torch threads do not survive
    a fork), each with its own models."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = min(config.pipeline.workers, max(1, len(jobs)))
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker, initargs=(config.to_dict(),)) as pool:
        futures = [pool.submit(_work, job) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


# -- Ray ----------------------------------------------------------------------------------------

class _RayWorker:
    """A Ray actor holding one Renderer (the models load once per actor)."""

    def __init__(self, config_dict: dict):
        from facedit.config import from_dict
        from facedit.pipeline.render import Renderer

        self.renderer = Renderer(from_dict(config_dict))

    def process(self, job):
        return self.renderer.process(job)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("pipeline.executor=ray needs Ray: pip install 'facedit[ray]'") from None
    return ray


@executor("ray")
def _ray(config, jobs: list, renderer=None) -> Iterator:
    """`workers` actors on the cluster at `pipeline.address` (a local instance with `workers`
    CPUs when none is given). Workers must have facedit and the model files installed; images
    and results travel through Ray, so no shared file system is needed."""
    ray = _import_ray()
    from ray.util import ActorPool

    started = not ray.is_initialized()
    if started:
        address = config.pipeline.address
        kwargs = {} if address else {"num_cpus": config.pipeline.workers}
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, **kwargs)
    try:
        actor = ray.remote(num_cpus=1)(_RayWorker)
        workers = min(config.pipeline.workers, max(1, len(jobs)))
        pool = ActorPool([actor.remote(config.to_dict()) for _ in range(workers)])
        yield from pool.map_unordered(lambda a, job: a.process.remote(job), jobs)
    finally:
        if started:
            ray.shutdown()
