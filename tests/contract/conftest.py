"""Contract fixtures: each module names its sandbox keys (``SANDBOX_KEYS``) and how it
connects an adapter (``connect(sandbox)``); the rest is shared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from django_tryon.sandbox import Sandbox
from tests.contract.common import fast_sandbox
from tests.localhost import served


@pytest.fixture
def sandbox(request) -> Iterator[Sandbox]:
    with fast_sandbox(**request.module.SANDBOX_KEYS) as sb:
        yield sb


local = pytest.fixture(served, name="local")


@pytest.fixture
def adapter(request, sandbox):
    provider = request.module.connect(sandbox)
    yield provider
    provider.close()
