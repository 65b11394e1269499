"""The distributions: what a shop installs from the wheel, and what the sdist carries.

The project is built the way a release is (``python -m build``: the sdist first, then the
wheel *from that sdist*, so anything MANIFEST.in forgets is missing from both), offline
(``--no-isolation`` uses the venv's setuptools and wheel), from a copy of the tree so the
checkout gets no build/ or egg-info folders.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "django_tryon"
# Folders of package data whose every file must reach the wheel (and the sdist).
DATA_DIRS = ["templates/django_tryon", "static/django_tryon", "locale"]
NOT_SHIPPED = ("tests/", "example_project/", "bench/", "kit/")
REQUIRED = {"django", "djangorestframework", "celery", "httpx", "pyjwt", "pillow"}
# Never copied into the build tree: local state, caches and earlier build output.
SCRATCH = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", "*.py[cod]",
    ".pytest_cache", ".ruff_cache", "var", "test-artifacts", "node_modules", "media",
    "*.sqlite3",
)  # fmt: skip


#: One probe file per package-data folder, written into the build copy only.
PROBES = {
    "templates/django_tryon": "probe.html",
    "static/django_tryon": "probe.css",
    "locale": "xx/LC_MESSAGES/django.po",
}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def source_files(subdir: str = "") -> list[str]:
    """Files of the package in the source tree (relative to the repo), without bytecode."""
    base = ROOT / PACKAGE / subdir
    if not base.is_dir():
        return []
    return sorted(
        path.relative_to(ROOT).as_posix()
        for path in base.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    try:
        import build  # noqa: F401
        import setuptools  # noqa: F401
        import wheel  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"building needs build, setuptools and wheel in this environment: {exc}")
    tmp = tmp_path_factory.mktemp("packaging")
    tree, out = tmp / "src", tmp / "dist"
    shutil.copytree(ROOT, tree, ignore=SCRATCH, symlinks=True)
    # A probe file in each package-data folder of the copy, so the packaging rules are
    # proven for every folder even while one of them is still empty in the source tree.
    for subdir, name in PROBES.items():
        probe = tree / PACKAGE / subdir / name
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_text("packaging probe\n")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        env=env,
        timeout=100,
        check=False,
    )
    assert proc.returncode == 0, f"build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    (sdist,) = out.glob("*.tar.gz")
    (whl,) = out.glob("*.whl")
    with zipfile.ZipFile(whl) as zf:
        wheel_names = set(zf.namelist())
        (meta_name,) = [n for n in wheel_names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(zf.read(meta_name).decode())
    with tarfile.open(sdist) as tf:
        members = [m.name for m in tf.getmembers() if m.isfile()]
    prefix = members[0].split("/", 1)[0] + "/"
    sdist_names = {m[len(prefix) :] for m in members if m.startswith(prefix)}
    output = proc.stdout + proc.stderr
    return {"wheel": wheel_names, "sdist": sdist_names, "metadata": metadata, "output": output}


def test_the_build_says_nothing_of_ignored_packages(dists):
    """`make demo` printed about 380 lines of setuptools' "Package would be ignored" (the
    templates, static files and translations were data folders, not packages)."""
    assert "would be ignored" not in dists["output"]


def test_wheel_has_every_module_and_the_migrations(dists):
    assert f"{PACKAGE}/migrations/0001_initial.py" in dists["wheel"]
    migrations = [f for f in source_files("migrations") if f.endswith(".py")]
    assert migrations and set(migrations) <= dists["wheel"]
    modules = [f for f in source_files() if f.endswith(".py")]
    missing = sorted(set(modules) - dists["wheel"])
    assert not missing, f"modules missing from the wheel: {missing}"


@pytest.mark.parametrize("subdir", DATA_DIRS)
def test_package_data_reaches_wheel_and_sdist(dists, subdir):
    files = [*source_files(subdir), f"{PACKAGE}/{subdir}/{PROBES[subdir]}"]
    missing_wheel = sorted(set(files) - dists["wheel"])
    missing_sdist = sorted(set(files) - dists["sdist"])
    assert not missing_wheel, f"missing from the wheel (MANIFEST.in?): {missing_wheel}"
    assert not missing_sdist, f"missing from the sdist (MANIFEST.in?): {missing_sdist}"


def test_every_non_python_package_file_is_shipped(dists):
    data = [f for f in source_files() if not f.endswith(".py")]
    missing = sorted(set(data) - dists["wheel"])
    assert not missing, f"package files missing from the wheel (MANIFEST.in?): {missing}"


def test_wheel_ships_only_the_app(dists):
    shipped = {name.split("/", 1)[0] for name in dists["wheel"]}
    assert shipped <= {PACKAGE, *(n for n in shipped if n.endswith(".dist-info"))}, shipped
    for name in dists["wheel"]:
        assert not name.startswith(NOT_SHIPPED), name
        assert "__pycache__" not in name and not name.endswith((".pyc", ".pyo")), name


def test_sdist_has_project_files_and_no_test_or_demo_code(dists):
    sdist = dists["sdist"]
    for name in ("README.md", "setup.cfg", "pyproject.toml", "MANIFEST.in"):
        assert name in sdist, f"{name} missing from the sdist"
    if (ROOT / "LICENSE").exists():
        assert "LICENSE" in sdist
    docs = [p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*") if p.is_file()]
    assert set(docs) <= sdist, sorted(set(docs) - sdist)
    assert f"{PACKAGE}/migrations/0001_initial.py" in sdist
    for name in sdist:
        assert not name.startswith(NOT_SHIPPED), name
        assert "__pycache__" not in name and not name.endswith((".pyc", ".pyo")), name


def test_wheel_metadata_requires_the_runtime_dependencies(dists):
    from packaging.requirements import Requirement

    metadata = dists["metadata"]
    assert metadata["Name"] in ("django-tryon", "django_tryon")
    runtime = {
        _canonical(req.name)
        for req in map(Requirement, metadata.get_all("Requires-Dist") or [])
        if req.marker is None or "extra" not in str(req.marker)
    }
    assert runtime >= REQUIRED, f"missing: {sorted(REQUIRED - runtime)}"
    assert "boto3" not in runtime and "moto" not in runtime  # extras only
