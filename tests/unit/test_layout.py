"""Where things live (docs/architecture.md): the pipeline's modules import only those
listed before them, and nothing outside providers/ and sandbox/ imports a provider."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "django_tryon"

#: docs/architecture.md's order: a module may import only the ones before it.
PIPELINE_ORDER = [
    "charges",
    "dispatch",
    "transitions",
    "validation",
    "inputs",
    "slots",
    "results",
    "hints",
    "recovery",
    "fallback",
    "submission",
    "create",
    "batches",
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


# -- no import circles -----------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every module of the package ``path`` imports: when it loads, inside a function, or
    under ``if TYPE_CHECKING`` (a circle hidden there is still a loop in the design)."""
    import ast

    name = _module_name(path)
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def test_the_package_has_no_import_circles():
    """A circle works only by luck of import order (services and tasks had one), and one
    hidden in a function or under TYPE_CHECKING is still two modules that cannot be read
    apart (the sandbox's server and its provider APIs had one of ten modules)."""
    files = [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_name(p): p for p in files}
    graph = {name: _imports(path, set(modules)) for name, path in modules.items()}
    assert sum(len(edges) for edges in graph.values()) > 150
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            raise AssertionError(
                "import circle: " + " -> ".join([*trail[trail.index(name) :], name])
            )
        if name in done:
            return
        for dependency in sorted(graph[name]):
            visit(dependency, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_callback_view_leaves_what_a_hint_means_to_the_pipeline():
    """The view checks, parses, records and answers; pipeline/hints.py decides, through the
    adapter's ``hint_state`` rather than its status table."""
    view = (PACKAGE / "callbacks.py").read_text()
    for decided_elsewhere in ("status_map", "enqueue_refresh", "mark_generating", "TaskState"):
        assert decided_elsewhere not in view, decided_elsewhere
    assert "status_map" not in (PACKAGE / "pipeline" / "hints.py").read_text()


def test_only_services_reaches_into_the_pipeline():
    """The pipeline has one public face, ``services``: no other module of the package, no
    benchmark and no example shop code imports a pipeline module. (Tests may: a test of a
    pipeline module, or one that listens at its dispatch, reaches its insides.)"""
    pattern = re.compile(r"^\s*(from|import)\s+[\w.]*\bpipeline\b", re.M)
    roots = [PACKAGE, PACKAGE.parent / "bench", PACKAGE.parent / "example_project"]
    for path in (p for root in roots for p in root.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if relative.startswith("django_tryon/pipeline/") or relative == "django_tryon/services.py":
            continue
        assert not pattern.search(path.read_text()), f"{relative} imports the pipeline"


def test_the_public_face_is_what_callers_use():
    """Every name ``services`` exports is used by some caller outside the pipeline."""
    from django_tryon import services

    sources = "".join(
        p.read_text()
        for p in PACKAGE.rglob("*.py")
        if "pipeline" not in p.parts and p.name != "services.py"
    )
    imported = " ".join(re.findall(r"from \.+services import ([^\n]+)", sources))
    unused = [
        name
        for name in services.__all__
        if f"services.{name}" not in sources and not re.search(rf"\b{name}\b", imported)
    ]
    assert unused == []
    assert len(services.__all__) <= 20


def test_everything_the_app_raises_to_its_callers_has_one_root_and_a_code():
    from django_tryon.errors import IdempotencyConflict, TryOnError, TryOnValidationError
    from django_tryon.fetch import DownloadError
    from django_tryon.images import ImageError
    from django_tryon.providers.errors import ContentRefused
    from django_tryon.quotas import QuotaExceeded, TryOnDisabled

    raised = [
        TryOnValidationError({"garment": ["Choose a garment."]}),
        IdempotencyConflict(),
        QuotaExceeded("Daily limit reached.", 60, "shopper_daily"),
        TryOnDisabled(),
        ImageError("too_small", "This photo is too small."),
        ContentRefused("risk control", provider="kling"),
        DownloadError("timed out", retryable=True),
    ]
    codes = [exc.error_code for exc in raised]
    assert all(isinstance(exc, TryOnError) for exc in raised)
    assert codes == [
        "invalid",
        "idempotency_key_reused",
        "shopper_daily",
        "disabled",
        "too_small",
        "content_refused",
        "download_failed",
    ]


def test_the_api_maps_the_apps_errors_to_statuses_in_one_place():
    views = (PACKAGE / "api" / "views.py").read_text()
    for mapped_elsewhere in ("TryOnValidationError", "QuotaExceeded", "IdempotencyConflict"):
        assert mapped_elsewhere not in views, mapped_elsewhere


def test_benchmarks_use_the_kit_not_the_tests():
    bench = PACKAGE.parent / "bench"
    for path in bench.rglob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+tests\b", path.read_text(), re.M), path


def test_the_widget_does_not_import_the_api():
    """It asked ``api.permissions`` who is staff, the one import that ran back up the
    layers; the widget and the API now both ask ``callers``."""
    widget = (PACKAGE / "widget.py").read_text()
    assert not re.search(r"from \.api\b|import api\b", widget)


def test_no_module_is_longer_than_about_400_lines():
    """A module reads top to bottom; past about 400 lines it is two modules (DEVELOPERS.md).
    Migrations are written by Django and left out."""
    roots = [PACKAGE, PACKAGE.parent / "bench"]
    files = [p for root in roots for p in root.rglob("*.py") if "migrations" not in p.parts]
    files += list((PACKAGE / "static").rglob("*.js"))
    assert len(files) > 100
    long = {
        p.relative_to(PACKAGE.parent).as_posix(): n
        for p in files
        if (n := len(p.read_text().splitlines())) > 410
    }
    assert long == {}
