"""Where things live (docs/architecture.md): the pipeline's modules import only those
listed before them, and nothing outside providers/ and sandbox/ imports a provider."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "django_tryon"

#: docs/architecture.md's order: a module may import only the ones before it.
PIPELINE_ORDER = [
    "identity",
    "signing",
    "charges",
    "dispatch",
    "transitions",
    "validation",
    "inputs",
    "slots",
    "results",
    "recovery",
    "submission",
    "create",
    "cancel",
    "retry",
    "maintenance",
]


def test_every_pipeline_module_is_in_the_documented_order():
    found = {p.stem for p in (PACKAGE / "pipeline").glob("*.py")} - {"__init__"}
    assert found == set(PIPELINE_ORDER)


def test_pipeline_modules_import_only_those_before_them():
    for name in PIPELINE_ORDER:
        source = (PACKAGE / "pipeline" / f"{name}.py").read_text()
        for dependency in re.findall(r"^\s*from \.(\w+) import", source, re.M):
            assert PIPELINE_ORDER.index(dependency) < PIPELINE_ORDER.index(name), (
                f"pipeline/{name}.py imports pipeline/{dependency}.py, listed after it"
            )


def test_the_pipeline_never_imports_the_celery_tasks():
    for path in (PACKAGE / "pipeline").glob("*.py"):
        assert not re.search(r"^\s*from \.\. import .*\btasks\b", path.read_text(), re.M), path


def test_no_module_outside_providers_and_sandbox_imports_a_provider_adapter():
    adapters = {p.stem for p in (PACKAGE / "providers").glob("*.py")} - {"__init__", "base"}
    pattern = re.compile(r"providers(?:\.|\s+import\s+)(" + "|".join(sorted(adapters)) + r")\b")
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).parts
        if relative[0] in ("providers", "sandbox", "migrations"):
            continue
        assert not pattern.search(path.read_text()), path
