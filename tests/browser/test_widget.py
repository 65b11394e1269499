"""The product-page widget in real headless Chromium, against the example shop, a real
Celery worker and the sandbox (the ``pipeline`` fixture).

Each test waits for states the page shows (or for events it fires), never for time.
Screenshots of the key states are saved under test-artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from django_tryon.models import ModelPhoto, TryOnRequest
from django_tryon.status import Status
from kit import imagegen
from kit.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EVENTS = [
    "open",
    "consent",
    "upload",
    "start",
    "success",
    "error",
    "cancel",
    "download",
    "add-to-cart",
    "added-to-cart",
    "unavailable",
    "close",
]
# Collects every tryon:* event the page fires, in order, with its detail.
COLLECT_EVENTS = (
    "window.__tryonEvents = [];"
    f"for (const name of {json.dumps(EVENTS)})"
    """ {
  document.addEventListener("tryon:" + name, (event) => {
    window.__tryonEvents.push({type: event.type, detail: JSON.parse(JSON.stringify(event.detail))});
  });
}"""
)
RESULT_TIMEOUT_MS = 45_000

W = "tryon-widget"
OPEN = f"{W} [data-tryon-part=open]"
DIALOG = f"{W} [data-tryon-part=dialog]"
CONSENT = f"{W} [data-tryon-part=consent]"
CHOOSE = f"{W} [data-tryon-part=choose]"
ERROR = f"{W} [data-tryon-part=error]"
CANCEL = f"{W} [data-tryon-part=cancel]"
RESULT_STEP = f"{W} [data-tryon-step=result]"
AFTER = f"{W} [data-tryon-part=after]"


# -- fixtures ----------------------------------------------------------------------------------


def open_product(page, shop):
    page.add_init_script(COLLECT_EVENTS)
    page.goto(shop["url"])
    expect(page.locator(OPEN)).to_be_visible()
    return page


def events(page) -> list[dict]:
    return page.evaluate("window.__tryonEvents")


def event_types(page) -> list[str]:
    return [e["type"].removeprefix("tryon:") for e in events(page)]


def start_with_photo(page, path):
    """Open the dialog, agree, and choose ``path`` through the real file chooser."""
    page.click(OPEN)
    expect(page.locator(DIALOG)).to_be_visible()
    page.check(CONSENT)
    with page.expect_file_chooser() as chooser:
        page.click(CHOOSE)
    chooser.value.set_files(str(path))


def wait_for_result(page, shop):
    try:
        expect(page.locator(RESULT_STEP)).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    except AssertionError:
        raise AssertionError(
            f"no result shown; events: {event_types(page)}; page errors: {page.tryon_errors}\n"
            f"--- worker log ---\n{shop['worker'].log()}"
        ) from None
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=page.locator(AFTER).element_handle()
    )


def only_request() -> TryOnRequest:
    requests = list(TryOnRequest.objects.all())
    assert len(requests) == 1, requests
    return requests[0]


# -- the flow ----------------------------------------------------------------------------------


def test_happy_path_shows_result(page, shop, photos, screenshot):
    open_product(page, shop)
    screenshot(page, "1-product-page")

    page.click(OPEN)
    expect(page.locator(DIALOG)).to_be_visible()
    screenshot(page, "2-dialog-consent")
    page.check(CONSENT)
    with page.expect_file_chooser() as chooser:
        page.click(CHOOSE)
    chooser.value.set_files(str(photos["large_rotated"]))

    expect(page.locator(f"{W} [data-tryon-step=progress]")).to_be_visible()
    screenshot(page, "3-progress")
    wait_for_result(page, shop)
    screenshot(page, "4-result")

    # The photo was made upright and shrunk to 2048 px on the long side before upload.
    upload = next(e for e in events(page) if e["type"] == "tryon:upload")
    assert upload["detail"]["source"] == "photo"
    assert (upload["detail"]["width"], upload["detail"]["height"]) == (1536, 2048)
    assert upload["detail"]["resized"] is True

    request = only_request()
    assert request.status == Status.SUCCEEDED
    assert request.consent_version and request.consent_at is not None
    result = request.results.get()

    # The result shown is the API's result; the "before" is the local photo, never uploaded back.
    after_src = page.get_attribute(AFTER, "src")
    success = next(e for e in events(page) if e["type"] == "tryon:success")
    assert after_src == success["detail"]["results"][0]["url"]
    assert success["detail"]["requestId"] == str(request.pk)
    assert page.get_attribute(f"{W} [data-tryon-part=before]", "src").startswith("blob:")
    natural = page.eval_on_selector(AFTER, "el => [el.naturalWidth, el.naturalHeight]")
    assert natural == [result.width, result.height]

    # Download saves the result image.
    with page.expect_download() as download:
        page.click(f"{W} [data-tryon-part=download]")
    data = Path(download.value.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"

    # Add to cart goes through the shop's own cart view, and the header count follows.
    page.click(f"{W} [data-tryon-part=add-to-cart]")
    expect(page.locator(f"{W} [data-tryon-part=cart-status]")).to_have_text(re.compile("cart"))
    expect(page.locator(".cart-count")).to_have_text("1")
    screenshot(page, "5-added-to-cart")

    # Nothing of the shopper's photo is kept in the browser's storage.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.tryon_errors == []


def test_an_iphone_heic_photo_the_browser_cannot_shrink_is_uploaded_as_it_is(
    page, shop, tmp_path, screenshot
):
    """Chromium cannot decode HEIC: the widget sends the file itself, the server reads it
    (the heic extra), stores a plain JPEG and the result comes back as for any photo."""
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(imagegen.make_heic(768, 1024))
    open_product(page, shop)
    start_with_photo(page, heic)
    wait_for_result(page, shop)
    screenshot(page, "heic-result")
    upload = next(e for e in events(page) if e["type"] == "tryon:upload")
    assert upload["detail"]["resized"] is False and upload["detail"]["width"] == 0
    request = only_request()
    assert request.status == Status.SUCCEEDED and request.results.count() == 1
    with request.person_image.open("rb") as fh:
        assert fh.read(3) == b"\xff\xd8\xff"
    assert page.tryon_errors == []


def test_before_and_after_says_what_it_is_and_moves_with_the_keyboard(
    page, shop, photos, screenshot
):
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    wait_for_result(page, shop)
    compare = page.locator(f"{W} [data-tryon-part=compare]")
    slider = page.locator(f"{W} [data-tryon-part=slider]")
    expect(compare.locator(".tryon-compare__label--before")).to_have_text("Before")
    expect(compare.locator(".tryon-compare__label--after")).to_have_text("After")
    handle = compare.locator(".tryon-compare__handle")
    expect(handle).to_be_visible()
    # It opens mostly on the try-on, the handle a fifth of the way in.
    assert slider.input_value() == "20"
    box, frame = handle.bounding_box(), compare.bounding_box()
    centre = box["x"] + box["width"] / 2 - frame["x"]
    assert abs(centre - frame["width"] * 0.2) < 3
    assert slider.get_attribute("aria-label") == "Compare your photo with the try-on"
    assert slider.get_attribute("aria-valuetext") == "20% of your photo shown"
    screenshot(page, "before-after")
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert int(slider.input_value()) > 20
    assert slider.get_attribute("aria-valuetext") == f"{slider.input_value()}% of your photo shown"
    moved = handle.bounding_box()["x"]
    assert moved > box["x"]


def test_progress_says_how_long_it_usually_takes_at_this_shop(page, shop, photos):
    """Stages and an estimate from the shop's own recent try-ons with this provider."""
    import uuid

    from django.core.cache import cache
    from django.utils import timezone

    cache.clear()  # the figure is cached a minute: another test's must not stand in
    now = timezone.now()
    for seconds in (18, 22, 26):
        TryOnRequest.objects.create(
            garment=shop["garment"],
            provider="kling",
            status=Status.SUCCEEDED,
            input_digest=uuid.uuid4().hex,
            created_at=now - timezone.timedelta(seconds=seconds),
            completed_at=now,
        )
    shop["sandbox"].configure(queue_seconds=1, generation_seconds=4)
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    estimate = page.locator(f"{W} [data-tryon-part=estimate]")
    expect(estimate).to_have_text("This usually takes about 22 seconds here.")
    # The provider's own "processing" callback lights up Generating before the result.
    expect(page.locator(f"{W} [data-stage=generating]")).to_have_class(
        re.compile("tryon-stage--current"), timeout=15_000
    )
    wait_for_result(page, shop)


def test_my_tryons_lists_them_and_erases_them_with_their_files(page, shop, photos, screenshot):
    from django_tryon.models import tryon_storage

    open_product(page, shop)
    start_with_photo(page, photos["person"])
    wait_for_result(page, shop)
    request = only_request()
    names = [r.image.name for r in request.results.all()] + [request.person_image.name]
    page.click(f"{W} [data-tryon-part=again]")
    page.click(f"{W} [data-tryon-part=history-open]")
    history = page.locator(f"{W} [data-tryon-part=history-list] img")
    expect(history).to_have_count(1)
    history.first.wait_for()
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=history.first.element_handle()
    )
    assert history.first.get_attribute("alt").startswith("Your try-on of ")
    screenshot(page, "my-tryons")

    page.click(f"{W} [data-tryon-part=erase]")
    expect(page.locator(f"{W} [data-tryon-part=erase-confirm]")).to_be_visible()
    screenshot(page, "erase-confirm")
    page.click(f"{W} [data-tryon-part=erase-yes]")
    expect(page.locator(f"{W} [data-tryon-part=history-status]")).to_have_text(
        "Your photos and results were erased."
    )
    expect(history).to_have_count(0)
    expect(page.locator(f"{W} [data-tryon-part=history-empty]")).to_be_visible()
    wait_until(lambda: not TryOnRequest.objects.exists(), timeout=5, what="the erase")
    wait_until(
        lambda: not any(tryon_storage().exists(n) for n in names), timeout=5, what="the files"
    )
    assert page.tryon_errors == []


def test_events_fire_in_order(page, shop, photos):
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    wait_for_result(page, shop)
    with page.expect_download():
        page.click(f"{W} [data-tryon-part=download]")
    page.click(f"{W} [data-tryon-part=add-to-cart]")
    page.wait_for_function("window.__tryonEvents.some(e => e.type === 'tryon:added-to-cart')")
    page.click(f"{W} [data-tryon-part=close]")
    page.wait_for_function("window.__tryonEvents.some(e => e.type === 'tryon:close')")

    assert event_types(page) == [
        "open",
        "consent",
        "upload",
        "start",
        "success",
        "download",
        "add-to-cart",
        "added-to-cart",
        "close",
    ]
    garment = str(shop["garment"].pk)
    assert all(e["detail"]["garment"] == garment for e in events(page))
    by_type = {e["type"].removeprefix("tryon:"): e["detail"] for e in events(page)}
    request_id = str(only_request().pk)
    assert by_type["consent"]["given"] is True
    assert by_type["start"]["requestId"] == request_id
    assert by_type["success"]["requestId"] == request_id
    assert by_type["success"]["results"][0]["url"]
    assert by_type["download"]["url"] == by_type["success"]["results"][0]["url"]
    assert by_type["add-to-cart"]["url"].endswith("/cart/add/red-t-shirt/")
    assert by_type["added-to-cart"]["response"]["cart_count"] == 1
    assert by_type["added-to-cart"]["source"] == "widget"


@pytest.mark.parametrize(
    ("cart_url", "shown"),
    [
        # A form view that sends the browser back to the page (Oscar's basket without a
        # quantity): a redirect, then HTML. Never "added".
        ("/admin/", "This could not be added to your cart. Please try again."),
        # A JSON error (here a 405 from a view that takes no POST): not added either; its
        # "detail" is for developers, only a "message" is shown to the shopper.
        ("/tryon/api/quota/", "This could not be added to your cart. Please try again."),
    ],
)
def test_add_to_cart_says_added_only_when_the_shop_confirmed_it(
    page, shop, photos, screenshot, cart_url, shown
):
    open_product(page, shop)
    page.evaluate(
        "url => document.querySelector('tryon-widget').setAttribute('add-to-cart-url', url)",
        cart_url,
    )
    start_with_photo(page, photos["person"])
    wait_for_result(page, shop)
    page.click(f"{W} [data-tryon-part=add-to-cart]")
    page.wait_for_function("window.__tryonEvents.some(e => e.type === 'tryon:error')")
    status = page.locator(f"{W} [data-tryon-part=cart-status]")
    expect(status).to_have_text(shown)
    expect(status).to_have_attribute("data-outcome", "refused")  # the error colour
    assert "added-to-cart" not in event_types(page)
    assert not TryOnRequest.objects.filter(counted_added_to_cart=True).exists()
    screenshot(page, "add-to-cart-refused")


def test_consent_gate(page, shop, photos, screenshot):
    open_product(page, shop)
    page.click(OPEN)
    consent = page.locator(CONSENT)
    choose = page.locator(CHOOSE)

    # Not pre-ticked, and no photo can be chosen until it is.
    expect(consent).not_to_be_checked()
    expect(choose).to_be_disabled()
    privacy = page.locator(f"{W} [data-tryon-part=privacy]")
    expect(privacy).to_have_attribute("href", "/privacy/")
    expect(page.locator(f"{W} .tryon-consent__note")).to_contain_text("24 hours")
    # The label belongs to the checkbox: clicking the words ticks it.
    page.click(f"{W} .tryon-consent__label")
    expect(consent).to_be_checked()
    expect(choose).to_be_enabled()
    page.click(f"{W} .tryon-consent__label")
    expect(choose).to_be_disabled()
    screenshot(page, "consent-not-given")

    # Even a file forced into the input is not sent without consent.
    page.set_input_files(f"{W} [data-tryon-part=file]", str(photos["person"]))
    expect(page.locator(ERROR)).to_contain_text("tick the box")
    assert TryOnRequest.objects.count() == 0
    assert event_types(page) == ["open", "consent", "consent", "error"]
    assert [e["detail"]["given"] for e in events(page) if e["type"] == "tryon:consent"] == [
        True,
        False,
    ]
    privacy_page = page.context.new_page()
    privacy_page.goto(shop["live"] + "/privacy/")
    expect(privacy_page.locator("h1")).to_have_text("Your try-on photos")


def test_too_small_photo_shows_its_message(page, shop, photos, screenshot):
    open_product(page, shop)
    start_with_photo(page, photos["small"])
    error = page.locator(ERROR)
    expect(error).to_be_visible()
    expect(error).to_contain_text("too small")
    expect(error).to_contain_text("200 \u00d7 200")
    expect(error).to_contain_text("300 pixels")
    # Focus moves to the message, the shopper can pick another photo at once.
    expect(error).to_be_focused()
    expect(page.locator(CHOOSE)).to_be_enabled()
    screenshot(page, "too-small")
    assert TryOnRequest.objects.count() == 0  # refused before anything was uploaded
    failure = events(page)[-1]
    assert failure["type"] == "tryon:error"
    assert failure["detail"]["code"] == "too_small"


def test_not_a_photo_shows_the_servers_reason(page, shop, photos):
    open_product(page, shop)
    start_with_photo(page, photos["text"])
    error = page.locator(ERROR)
    expect(error).to_contain_text("isn't a photo we can use")
    assert TryOnRequest.objects.count() == 0
    assert events(page)[-1]["detail"]["code"] == "not_an_image"


def test_provider_failure_shows_its_message(page, shop, photos, screenshot):
    shop["sandbox"].set_faults(content_refused=1)
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    error = page.locator(ERROR)
    expect(error).to_contain_text("content rules", timeout=RESULT_TIMEOUT_MS)
    screenshot(page, "provider-refused")
    failure = events(page)[-1]
    assert failure["type"] == "tryon:error"
    assert failure["detail"]["code"] == "content_refused"
    assert failure["detail"]["stage"] == "generate"
    assert only_request().status == Status.FAILED
    # The shopper is back at the photo step and may try another photo.
    expect(page.locator(f"{W} [data-tryon-step=choose]")).to_be_visible()
    expect(page.locator(CHOOSE)).to_be_enabled()


def test_cancel_while_generating(page, shop, photos, screenshot):
    shop["sandbox"].configure(generation_seconds=30)
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    cancel = page.locator(CANCEL)
    expect(cancel).to_be_visible()
    page.wait_for_function(
        "document.querySelector('tryon-widget [data-tryon-part=dialog]')"
        ".dataset.tryonStage === 'generating'",
        timeout=RESULT_TIMEOUT_MS,
    )
    expect(page.locator(f"{W} [data-stage=generating]")).to_have_attribute("aria-current", "step")
    screenshot(page, "generating")
    cancel.click()
    expect(page.locator(f"{W} [data-tryon-step=choose]")).to_be_visible()
    expect(page.locator(f"{W} [data-tryon-part=live]")).to_have_text("Try-on cancelled.")
    assert only_request().status == Status.CANCELLED
    assert event_types(page)[-1] == "cancel"


def test_took_too_long_offers_to_keep_waiting_or_cancel(page, shop, photos, screenshot):
    shop["sandbox"].configure(generation_seconds=30)
    open_product(page, shop)
    page.eval_on_selector(W, "el => el.setAttribute('timeout-seconds', '2')")
    start_with_photo(page, photos["person"])
    error = page.locator(ERROR)
    expect(error).to_contain_text("taking longer than usual", timeout=RESULT_TIMEOUT_MS)
    keep = page.locator(f"{W} [data-tryon-part=keep-waiting]")
    expect(keep).to_be_visible()
    expect(keep).to_be_focused()
    expect(page.locator(CANCEL)).to_be_visible()
    screenshot(page, "took-too-long")
    assert events(page)[-1]["detail"]["code"] == "timeout"
    page.click(CANCEL)
    expect(page.locator(f"{W} [data-tryon-step=choose]")).to_be_visible()
    assert only_request().status == Status.CANCELLED


def test_a_tryon_no_worker_takes_tells_the_shopper_plainly(
    page, shop, photos, screenshot, settings
):
    """No worker is running (stopped here; the next test gets a new one): after
    WORKER_SILENT_SECONDS the widget says so instead of spinning (issue 23, item 5)."""
    settings.TRYON = {**settings.TRYON, "WORKER_SILENT_SECONDS": 2}
    shop["worker"].stop()
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    error = page.locator(ERROR)
    expect(error).to_contain_text("try-on service isn't running", timeout=RESULT_TIMEOUT_MS)
    expect(page.locator(f"{W} [data-tryon-part=keep-waiting]")).to_be_visible()
    expect(page.locator(CANCEL)).to_be_visible()
    screenshot(page, "waiting-for-worker")
    assert events(page)[-1]["detail"]["code"] == "waiting_for_worker"
    assert only_request().status == Status.PENDING


def test_keyboard_only(page, shop, photos, screenshot):
    # Listen for the file chooser from the start: expect_file_chooser() arms Chromium's
    # interception asynchronously, and a key press can beat it.
    chosen = []
    page.on("filechooser", lambda chooser: (chosen.append(1), chooser.set_files(photos["person"])))
    open_product(page, shop)
    # Tab from the top of the page to the widget's button.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.tryonPart") == "open":
            break
    else:
        raise AssertionError("the Try it on button cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator(DIALOG)).to_be_visible()
    # Focus moved into the dialog, onto the consent box (the first thing to do).
    expect(page.locator(CONSENT)).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator(CONSENT)).to_be_checked()

    # Tab stays inside the dialog however often it is pressed, both ways.
    inside = "document.querySelector('tryon-widget dialog').contains(document.activeElement)"
    for key in ["Tab"] * 8 + ["Shift+Tab"] * 8:
        page.keyboard.press(key)
        assert page.evaluate(inside), key

    while page.evaluate("document.activeElement.dataset.tryonPart") != "choose":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    wait_for_result(page, shop)
    assert chosen == [1]
    # On the result, focus is on the first action; the slider works with arrow keys.
    expect(page.locator(f"{W} [data-tryon-part=add-to-cart]")).to_be_focused()
    page.focus(f"{W} [data-tryon-part=slider]")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    split = page.eval_on_selector(
        f"{W} [data-tryon-part=compare]", "el => el.style.getPropertyValue('--tryon-split')"
    )
    assert split == "25%"  # it opens at 20%: five steps right
    screenshot(page, "keyboard-result")

    # Escape closes the dialog and gives focus back to the button that opened it.
    page.keyboard.press("Escape")
    expect(page.locator(DIALOG)).to_be_hidden()
    expect(page.locator(OPEN)).to_be_focused()
    assert page.tryon_errors == []


def test_readable_at_320_px(new_page, shop, photos, screenshot):
    page = new_page(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    open_product(page, shop)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    screenshot(page, "320-product", full_page=True)
    start_with_photo(page, photos["person"])
    wait_for_result(page, shop)
    screenshot(page, "320-result")

    # Every visible control of the dialog fits the width, and the phone camera is offered.
    boxes = page.eval_on_selector_all(
        f"{DIALOG} :is(button, a, input[type=checkbox], img)",
        """els => els.filter(e => e.getClientRects().length)
                   .map(e => { const r = e.getBoundingClientRect();
                               return [e.dataset.tryonPart || e.className, r.left, r.right]; })""",
    )
    assert boxes
    for name, left, right in boxes:
        assert left >= 0 and right <= 320.5, (name, left, right)
    assert page.eval_on_selector(DIALOG, "d => d.scrollWidth <= d.clientWidth")
    page.click(f"{W} [data-tryon-part=again]")
    expect(page.locator(f"{W} [data-tryon-part=camera]")).to_be_visible()
    screenshot(page, "320-choose")


# -- availability, headless use, translation ----------------------------------------------------


def test_button_hides_when_the_shop_budget_is_used_up(page, shop, photos, settings, screenshot):
    open_product(page, shop)
    # The shop's day runs out while the page is open: the create is refused with 429.
    settings.TRYON = {**settings.TRYON, "SHOP_DAILY_GENERATION_LIMIT": 0}
    start_with_photo(page, photos["person"])
    error = page.locator(ERROR)
    expect(error).to_contain_text("isn't available right now")
    screenshot(page, "quota-reached")
    assert TryOnRequest.objects.count() == 0
    assert "unavailable" in event_types(page)
    page.keyboard.press("Escape")
    expect(page.locator(OPEN)).to_be_hidden()

    # A fresh page renders no button at all.
    page.goto(shop["url"])
    assert page.locator(W).count() == 0
    assert page.locator("#tryon-slot").count() == 1


def test_headless_custom_element_with_a_house_model(page, shop, settings, screenshot):
    """The element alone (no Django template markup) builds its dialog and uses house models."""
    settings.TRYON = {**settings.TRYON, "HOUSE_MODELS_FOR_SHOPPERS": True}
    model = ModelPhoto(name="Ana", offer_to_shoppers=True)
    model.image.save("ana.jpg", ContentFile(imagegen.make_person()))
    page.add_init_script(COLLECT_EVENTS)
    page.goto(shop["live"] + "/privacy/")  # any page of the shop: same origin, no widget
    page.add_script_tag(url="/static/django_tryon/widget/tryon-widget.js")
    page.add_style_tag(url="/static/django_tryon/widget/tryon-widget.css")
    page.evaluate(
        """garment => {
            const el = document.createElement("tryon-widget");
            el.setAttribute("garment", garment);
            el.setAttribute("api", "/tryon/api/");
            el.setAttribute("garment-name", "Red T-shirt");
            document.querySelector("main").append(el);
        }""",
        str(shop["garment"].pk),
    )
    page.click(OPEN)
    model_button = page.locator(f"{W} .tryon-model")
    expect(model_button).to_have_count(1)
    expect(model_button).to_have_attribute("aria-label", "Try it on Ana")
    screenshot(page, "house-models")
    model_button.click()
    wait_for_result(page, shop)
    screenshot(page, "house-model-result")
    request = only_request()
    assert request.model_photo_id == model.pk
    assert not request.person_image
    assert event_types(page)[:4] == ["open", "upload", "start", "success"]


def test_french(new_page, shop, photos):
    page = new_page(locale="fr-FR", extra_http_headers={"Accept-Language": "fr"})
    open_product(page, shop)
    expect(page.locator(OPEN)).to_have_text("Essayer")
    page.click(OPEN)
    expect(page.locator(CHOOSE)).to_have_text("Choisir une photo")
    page.check(CONSENT)
    with page.expect_file_chooser() as chooser:
        page.click(CHOOSE)
    chooser.value.set_files(str(photos["small"]))
    # A message built by the script, from the JavaScript catalog.
    expect(page.locator(ERROR)).to_contain_text("trop petite")
