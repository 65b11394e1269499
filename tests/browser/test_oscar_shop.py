"""A shopper in a real django-oscar shop, in Chromium: the shop built from Oscar's own guide
and docs/shops.md word for word (tests/oscar_shop.py), its Celery app from docs/settings.md
("A shop without a Celery app"), run as a shop runs it: ``manage.py runserver``, a
``celery worker --beat`` in the prefork pool, and the sandbox as the provider.

The shopper signs in through Oscar's login page, opens Oscar's own product page (no
template of the shop's), tries the shirt on through the widget, clicks "Add to cart" and
finds the line in Oscar's basket; the order is then placed through Oscar's order creator
and counted as "ordered after a try-on". Screenshots under test-artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import expect

from kit import imagegen
from kit.processes import free_port
from kit.waiting import wait_until
from tests.browser.test_widget import AFTER, OPEN, RESULT_STEP, W, start_with_photo
from tests.integration.recipes import code_blocks, run
from tests.oscar_shop import build_shop, manage, shop_environment, skip_without_oscar

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(420),
]

skip_without_oscar()


def _celery_app(project) -> None:
    """docs/settings.md's two files, for a project package named ``oscarshop``."""
    blocks = code_blocks("docs/settings.md", "### A shop without a Celery app", "## System")
    celery_py, init_py = (b.replace("myshop", "oscarshop") for b in blocks["python"][:2])
    (project / "oscarshop" / "celery.py").write_text(celery_py)
    (project / "oscarshop" / "__init__.py").write_text(init_py)


def _start(args, project, env, log_path, **options) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 (kept open for the process's life)
    return subprocess.Popen(
        args, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, **options
    )


def _stop(proc: subprocess.Popen, group: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM) if group else proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()


@pytest.fixture
def oscar_shop(tmp_path):
    """The Oscar shop, served and worked, with the sandbox as its provider."""
    from django_tryon.sandbox import Sandbox

    sandbox_port, web_port = free_port(), free_port()
    web = f"http://127.0.0.1:{web_port}"
    broker = tmp_path / "broker"
    broker.mkdir()
    settings_tail = f"""
from django_tryon.sandbox import provider_settings
TRYON["PROVIDERS"] = provider_settings("http://127.0.0.1:{sandbox_port}", trust_downloads=True)
TRYON["PUBLIC_BASE_URL"] = "{web}"
ALLOWED_HOSTS += ["127.0.0.1"]
OSCAR_ALLOW_ANON_CHECKOUT = True  # guests check out (their try-ons count too)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # no mail server here
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {{"data_folder_in": "{broker}", "data_folder_out": "{broker}"}}
"""
    # Oscar's product pictures, as a shop serves media while DEBUG is on.
    urls_tail = """
from django.conf import settings
from django.conf.urls.static import static
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
"""
    project = build_shop(tmp_path, settings_tail, urls_tail)
    _celery_app(project)
    env = shop_environment()
    check = run([*manage(), "check"], project, env)
    # The Celery app is found and its broker answers: no W014, no W015.
    assert "django_tryon.W01" not in check.stdout + check.stderr, check.stdout + check.stderr
    made = json.loads(run([sys.executable, "oscar_flow.py", "catalogue"], project, env).stdout)

    sandbox = Sandbox(
        host="127.0.0.1", port=sandbox_port, queue_seconds=0.2, generation_seconds=0.5
    )
    sandbox.start()
    server = _start(
        [*manage(), "runserver", f"127.0.0.1:{web_port}", "--noreload"],
        project,
        env,
        tmp_path / "runserver.log",
    )
    worker_log = tmp_path / "worker.log"
    worker = _start(
        [sys.executable, "-m", "celery", "-A", "oscarshop", "worker", "--beat",
         "--schedule", str(tmp_path / "beat"), "--pool", "prefork", "--concurrency", "2",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        project,
        env,
        worker_log,
        start_new_session=True,  # the embedded beat is a child that must die with it
    )  # fmt: skip

    def serving() -> bool:
        try:
            return httpx.get(web + made["red"], timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(serving, timeout=60, what="Oscar's runserver to answer", interval=0.2)
        wait_until(
            lambda: b" ready." in worker_log.read_bytes(),
            timeout=60,
            what="the shop's Celery worker to be ready",
            interval=0.2,
        )
        yield {
            "web": web,
            "project": project,
            "env": env,
            "sandbox": sandbox,
            "red": made["red"],
            "logs": lambda: "\n".join(
                f"--- {p.name} ---\n{p.read_text(errors='replace')[-6000:]}"
                for p in (worker_log, tmp_path / "runserver.log")
            ),
        }
    finally:
        _stop(worker, group=True)
        _stop(server)
        sandbox.stop()


def test_a_shopper_tries_on_in_oscar_and_the_line_lands_in_oscars_basket(
    oscar_shop, new_page, screenshot, tmp_path
):
    web = oscar_shop["web"]
    person = tmp_path / "me.jpg"
    person.write_bytes(imagegen.make_person())
    page = new_page()

    sign_in(page, web, "carol@example.com", "carol-password-1")

    page.goto(web + oscar_shop["red"])
    expect(page.locator(".basket-mini")).to_contain_text("£0.00")
    try_on_and_add(page, oscar_shop, person, screenshot)

    page.goto(web + "/basket/")
    expect(page.locator("#basket_formset")).to_contain_text("Red shirt")
    screenshot(page, "4-oscars-basket", full_page=True)
    assert page.tryon_errors == []

    # A guest: a try-on, Add to cart, then Oscar's checkout (post_checkout, the session's
    # try-ons). Their order counts too; the two shoppers' try-ons are not mixed up.
    # On a phone: Oscar's own responsive page and the widget's dialog, full width.
    guest = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    guest.goto(web + oscar_shop["red"])
    try_on_and_add(guest, oscar_shop, person, screenshot, seen_as="phone-")
    guest_checkout(guest, web, screenshot)
    assert guest.tryon_errors == []

    # Counted, not waited for: every try-on is final, the sandbox idle; then one task and
    # one result a try-on, the basket line, and both orders counted.
    oscar_shop["sandbox"].wait_idle(timeout=30)
    seen = json.loads(
        run(
            [sys.executable, "oscar_flow.py", "order", "carol"],
            oscar_shop["project"],
            oscar_shop["env"],
        ).stdout
    )
    assert oscar_shop["sandbox"].task_count == 2
    assert seen["tryons"] == [["succeeded", 1], ["succeeded", 1]], oscar_shop["logs"]()
    assert seen["basket"] == {"Red shirt": 1}
    assert seen["funnel"]["Red shirt"] == {"added_to_cart": 2, "ordered": 2}
    # The merchant: Oscar's dashboard menu leads to the cost page, in pounds, with both
    # orders after a try-on on the funnel table.
    merchant = new_page()
    sign_in(merchant, web, "boss@example.com", "boss-password-1")
    merchant.goto(web + "/dashboard/")
    merchant.get_by_role("button", name="Virtual try-on").click()
    screenshot(merchant, "6-dashboard-menu")
    merchant.get_by_role("link", name="Cost").click()
    funnel = merchant.locator("tr", has_text="Red shirt").last
    expect(funnel).to_contain_text("2")
    expect(merchant.locator("#content")).to_contain_text("£")
    assert "$" not in merchant.locator("#content").inner_text()
    screenshot(merchant, "7-cost-page-in-pounds", full_page=True)

    # SQLite with the recipe's busy timeout: the web process and the worker took turns.
    assert "database is locked" not in oscar_shop["logs"]()


def sign_in(page, web, email, password) -> None:
    """Oscar's own login page (its email backend)."""
    page.goto(web + "/accounts/login/")
    page.fill("#id_login-username", email)
    page.fill("#id_login-password", password)
    page.click("button[name=login_submit]")
    expect(page.get_by_text("Welcome back")).to_be_visible()


def try_on_and_add(page, oscar_shop, person, screenshot=None, seen_as="") -> None:
    """On Oscar's product page: a try-on through the widget, then its Add to cart;
    screenshots named ``seen_as`` (say, "phone-") when ``screenshot`` is given."""
    expect(page.locator(OPEN)).to_be_visible()
    if screenshot:
        screenshot(page, f"{seen_as}1-oscar-product-page", full_page=True)
    start_with_photo(page, person)
    try:
        expect(page.locator(RESULT_STEP)).to_be_visible(timeout=60_000)
    except AssertionError:
        raise AssertionError(f"no result shown\n{oscar_shop['logs']()}") from None
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=page.locator(AFTER).element_handle()
    )
    if screenshot:
        screenshot(page, f"{seen_as}2-result")
    page.click(f"{W} [data-tryon-part=add-to-cart]")
    expect(page.locator(f"{W} [data-tryon-part=cart-status]")).to_have_text("Added to your cart.")
    # Oscar's header follows without a reload.
    expect(page.locator(".basket-mini")).to_contain_text("£20.00")
    if screenshot:
        screenshot(page, f"{seen_as}3-added-to-cart")


def guest_checkout(page, web, screenshot) -> None:
    """Oscar's own checkout, as a guest: email, then on to the preview, Place order."""
    page.goto(web + "/checkout/")
    page.fill("input[name=username]", "guest@example.com")
    page.get_by_role("button", name="Continue").click()
    page.locator("#view_preview").click()  # no payment step in Oscar's default checkout
    page.locator("#place-order").click()
    placed = page.get_by_text("Your order has been placed")
    try:
        expect(placed).to_be_visible()
    except AssertionError:
        raise AssertionError(f"{page.url}: {page.locator('.alert').all_inner_texts()}") from None
    screenshot(page, "5-guest-order-placed", full_page=True)
