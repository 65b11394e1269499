"""Integration tests use the pipeline fixtures of ``tests/pipeline.py`` (registered by
``tests/conftest.py``): ``sandbox``, ``worker``, ``live_server`` and ``pipeline``.

The helpers stay importable from here for the tests that import them.
"""

from tests.pipeline import ROOT, Worker, WorkerPool, wait_for_status

__all__ = ["ROOT", "Worker", "WorkerPool", "wait_for_status"]
