"""Browser fixtures: Debian's Chromium driven by Python Playwright, screenshots as artifacts.

Nothing is downloaded: Playwright launches the system Chromium (``TRYON_CHROMIUM``, else
``chromium`` on PATH) through ``executable_path``. When Chromium or the ``playwright``
package is missing the tests skip with the reason (and fail under ``CI=true``, see
``tests/conftest.py``). Every test that uses these fixtures gets the ``browser`` marker.

Shared by every browser test module (the widget's and the admin's):

- ``browser``: one headless Chromium for the session;
- ``new_page(**context_options)``: a page in a fresh context (own cookies and session),
  closed after the test; script errors (console errors other than failed HTTP loads,
  and uncaught exceptions) are collected on ``page.tryon_errors``;
- ``page``: ``new_page()`` with the default 1280 x 900 viewport;
- ``shop``: the example shop's product with its garment, made as docs/shops.md tells a
  shop, on the live server with a worker behind it; ``photos``: files a shopper might pick;
- ``screenshot(page, name)``: saves ``test-artifacts/<test>/<name>.png`` (or under
  ``TRYON_TEST_ARTIFACTS``) and returns its path.
"""

from __future__ import annotations

import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from kit import imagegen
from kit.chromium import CHROMIUM_ARGS, chromium_path

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        reason = "browser: no Chromium (set TRYON_CHROMIUM or apt-get install chromium)"
        print(reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "browser: the playwright package is not installed (pip install playwright)"
        print(reason)
        pytest.skip(reason)
    # Playwright's sync API keeps an event loop in this thread, which makes Django refuse
    # ORM calls from the test ("async context"). The tests are synchronous: allow them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        launched = manager.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        manager.stop()
        raise
    try:
        yield launched
    finally:
        launched.close()
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser):
    """Open pages in fresh contexts: ``new_page(viewport={...}, locale="fr-FR")``."""
    contexts = []

    def factory(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.tryon_errors = []
        page.on("console", lambda msg: _console_error(page, msg))
        page.on("pageerror", lambda exc: page.tryon_errors.append(str(exc)))
        return page

    yield factory
    for context in contexts:
        context.close()


def _console_error(page, msg) -> None:
    # HTTP errors the tests provoke on purpose (400, 429) are logged by Chromium as
    # "Failed to load resource"; the tests check those through the page instead.
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        page.tryon_errors.append(msg.text)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot(request):
    """Save a PNG of the page (or of one element) under test-artifacts/<test name>/."""
    base = Path(os.environ.get("TRYON_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = base / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page, name: str, *, element=None, full_page: bool = False) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        if element is not None:
            element.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def shop(pipeline, settings, tmp_path):
    """A product with an active garment, served by the live server with a worker behind it."""
    from shop.demo_images import garment_image
    from shop.models import Product

    settings.TRYON = {**settings.TRYON, "API_CREATE_RATE": None}
    # A product of the shop's own model with its picture and category; its garment is made
    # the way docs/shops.md tells any shop (TRYON["CATALOGUE"] and the sync command).
    product = Product(
        name="Red T-shirt",
        slug="red-t-shirt",
        price=Decimal("19.00"),
        description="Cotton.",
        category="T-shirts",
    )
    product.image.save("red.png", ContentFile(garment_image("upper", (200, 40, 60), 800)))
    call_command("tryon_sync_garments", stdout=io.StringIO())
    garment = product.tryon_garment
    assert garment is not None and garment.category == "upper"
    live = pipeline["live_server"].url
    return {
        "url": live + product.get_absolute_url(),
        "live": live,
        "product": product,
        "garment": garment,
        "sandbox": pipeline["sandbox"],
        "worker": pipeline["worker"],
    }


@pytest.fixture
def photos(tmp_path):
    """Photo files a shopper might pick."""
    files = {
        "person": tmp_path / "me.jpg",
        # A large phone photo stored landscape with EXIF "rotate 90°": portrait once upright.
        "large_rotated": tmp_path / "large.jpg",
        "small": tmp_path / "small.jpg",
        "text": tmp_path / "notes.jpg",
    }
    files["person"].write_bytes(imagegen.make_person())
    files["large_rotated"].write_bytes(
        imagegen.make_jpeg(4000, 3000, exif_orientation=6, with_gps=True, textured=True)
    )
    files["small"].write_bytes(imagegen.make_jpeg(200, 200))
    files["text"].write_bytes(b"Shopping list: milk, eggs, a red T-shirt.\n" * 20)
    return files
