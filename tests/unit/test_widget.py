"""The widget's server side: the template tag, its template, translations and static files.

The widget's behaviour in a browser is tested in tests/browser/test_widget.py.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation

from django_tryon import callers
from django_tryon.callers import BROWSER_COOKIE
from django_tryon.models import UsageCounter
from django_tryon.quotas import _periods
from django_tryon.widget import SCRIPTS

pytestmark = pytest.mark.django_db

PACKAGE = Path(__file__).resolve().parents[2] / "django_tryon"
WIDGET_STATIC = PACKAGE / "static" / "django_tryon" / "widget"
TEMPLATE = PACKAGE / "templates" / "django_tryon" / "widget.html"
LOCALE = PACKAGE / "locale"


def all_scripts() -> str:
    return "\n".join((WIDGET_STATIC / name).read_text() for name in SCRIPTS)


def render(source: str, request=None, **context) -> str:
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    if request is None:
        request = RequestFactory().get("/products/x/")
        request.session = SessionStore()
        request.user = AnonymousUser()
    return Template("{% load tryon %}" + source).render(Context({"request": request, **context}))


def attributes(html: str) -> dict[str, str]:
    tag = re.search(r"<tryon-widget\b([^>]*)>", html, re.S).group(1)
    return dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))


# -- the tag ---------------------------------------------------------------------------------


def test_widget_renders_button_dialog_and_settings(make_garment, settings):
    settings.TRYON = {
        **settings.TRYON,
        "PRIVACY_URL": "shop:privacy",
        "HOUSE_MODELS_FOR_SHOPPERS": False,
    }
    garment = make_garment(name="Red <T>-shirt")
    html = render("{% tryon_widget garment add_to_cart_url='/cart/add/red/' %}", garment=garment)
    attrs = attributes(html)
    assert attrs["garment"] == str(garment.pk)
    assert attrs["garment-name"] == "Red &lt;T&gt;-shirt"
    assert attrs["api"] == "/tryon/api/"
    assert attrs["privacy-url"] == "/privacy/"
    assert attrs["add-to-cart-url"] == "/cart/add/red/"
    assert attrs["retention-hours"] == "24"
    assert attrs["min-side"] == "300"
    assert attrs["max-side"] == "2048"
    assert attrs["house-models"] == "off"
    assert len(attrs["csrf-token"]) >= 32
    # A real button and a dialog; the consent box is never pre-ticked, upload starts disabled.
    assert re.search(r'<button type="button" class="tryon-open" data-tryon-part="open"', html)
    assert '<dialog class="tryon-dialog"' in html
    consent = re.search(r'<input type="checkbox"[^>]*data-tryon-part="consent"[^>]*>', html).group()
    assert "checked" not in consent
    choose = re.search(r'<button[^>]*data-tryon-part="choose"[^>]*>', html).group()
    assert "disabled" in choose
    assert 'href="/privacy/"' in html
    assert "deleted within 24 hours" in html
    # Label and checkbox are tied together, with ids unique to this widget.
    box_id = re.search(r'id="([^"]+)"', consent).group(1)
    assert f'<label class="tryon-consent__label" for="{box_id}">' in html


def test_assets_are_written_once_per_page(make_garment):
    first, second = make_garment(name="One"), make_garment(name="Two")
    html = render("{% tryon_widget a %}{% tryon_widget b %}", a=first, b=second)
    assert html.count("tryon-widget.js") == 1
    assert html.count("tryon-widget.css") == 1
    assert html.count('src="/tryon/jsi18n/"') == 1
    assert html.count("<tryon-widget ") == 2
    ids = re.findall(r'id="(tryon-[0-9a-f]+)-consent"', html)
    assert len(set(ids)) == 2


def test_scripts_come_after_the_catalog_in_their_order(make_garment):
    html = render("{% tryon_widget garment %}", garment=make_garment())
    written = re.findall(r'<script src="[^"]*/widget/([a-z-]+\.js)" defer>', html)
    assert written == list(SCRIPTS)
    assert written[-1] == "tryon-widget.js"  # the one that defines the element
    assert html.index("/tryon/jsi18n/") < html.index(SCRIPTS[0])


def test_every_script_in_the_folder_is_written():
    assert sorted(path.name for path in WIDGET_STATIC.glob("*.js")) == sorted(SCRIPTS)


def test_the_order_of_the_parts_is_written_once():
    """widget.py and tryon-widget.js each had the list; now the loader's PARTS is the one
    the template writes from."""
    loader = (WIDGET_STATIC / "tryon-widget.js").read_text()
    listed = re.findall(r'^\s+\w+: "(tryon-[a-z]+\.js)",$', loader, re.M)
    assert listed == list(SCRIPTS[:-1]) and SCRIPTS[-1] == "tryon-widget.js"
    python_side = (WIDGET_STATIC.parents[2] / "widget.py").read_text()
    assert not any(f'"{name}"' in python_side for name in listed)


def test_house_models_follow_the_setting(make_garment, settings):
    settings.TRYON = {**settings.TRYON, "HOUSE_MODELS_FOR_SHOPPERS": True}
    html = render("{% tryon_widget garment %}", garment=make_garment())
    assert attributes(html)["house-models"] == "auto"
    html = render("{% tryon_widget garment house_models=False %}", garment=make_garment())
    assert attributes(html)["house-models"] == "off"


@pytest.mark.parametrize("garment_kind", ["none", "inactive"])
def test_nothing_without_an_active_garment(make_garment, garment_kind):
    garment = None if garment_kind == "none" else make_garment(active=False)
    assert render("{% tryon_widget garment %}", garment=garment).strip() == ""


@pytest.mark.parametrize(
    "override",
    [
        {"ENABLED": False},
        {"SHOP_DAILY_GENERATION_LIMIT": 0},
        {"SHOP_MONTHLY_GENERATION_LIMIT": 0},
    ],
)
def test_nothing_when_try_on_is_off_or_the_shop_budget_is_used_up(make_garment, settings, override):
    settings.TRYON = {**settings.TRYON, **override}
    assert render("{% tryon_widget garment %}", garment=make_garment()).strip() == ""


def test_nothing_when_this_shoppers_quota_is_used_up(make_garment, settings):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    settings.TRYON = {**settings.TRYON, "SHOPPER_DAILY_GENERATION_LIMIT": 2}
    garment = make_garment()
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    owner = callers.owner_key_of(request, bind=True)  # what the quota read starts
    request.COOKIES[BROWSER_COOKIE] = request._tryon_browser
    day = _periods(timezone.now())[0]
    UsageCounter.objects.create(scope=owner, period=day, generations=2)
    assert render("{% tryon_widget garment %}", request=request, garment=garment).strip() == ""
    # Another shopper still sees the button.
    assert "<tryon-widget" in render("{% tryon_widget garment %}", garment=garment)


@pytest.mark.parametrize(("route", "shown"), [(["fashn"], False), (["kling"], True)])
def test_the_button_is_priced_at_the_provider_the_widgets_route_uses(
    make_garment, settings, route, shown
):
    # The shop's credit budget (FASHN bills credits) is spent for today.
    settings.TRYON = {
        **settings.TRYON,
        "ROUTING": {"widget": route, "default": ["kling"]},
        "SHOP_DAILY_BUDGET": {"credits": 1},
    }
    day = _periods(timezone.now())[0]
    UsageCounter.objects.create(scope="shop:credits", period=day, spend=1)
    html = render("{% tryon_widget garment %}", garment=make_garment())
    assert ("<tryon-widget" in html) is shown


def test_staff_are_not_held_to_the_shopper_quota(make_garment, settings):
    settings.TRYON = {**settings.TRYON, "SHOPPER_DAILY_GENERATION_LIMIT": 0}
    staff = get_user_model().objects.create_user("staff", is_staff=True)
    request = RequestFactory().get("/")
    request.user = staff
    html = render("{% tryon_widget garment %}", request=request, garment=make_garment())
    assert "<tryon-widget" in html


def test_template_can_be_overridden(make_garment, settings, tmp_path):
    folder = tmp_path / "templates" / "django_tryon"
    folder.mkdir(parents=True)
    (folder / "widget.html").write_text(
        "<tryon-widget garment='{{ garment.pk }}'>mine</tryon-widget>"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates"]}]
    garment = make_garment()
    assert render("{% tryon_widget garment %}", garment=garment) == (
        f"<tryon-widget garment='{garment.pk}'>mine</tryon-widget>"
    )


def test_product_page_uses_the_widget(client, make_garment):
    from django.contrib.contenttypes.models import ContentType
    from shop.models import Product

    product = Product.objects.create(name="Tee", slug="tee", price="10.00")
    make_garment(
        product_type=ContentType.objects.get_for_model(Product), product_id=str(product.pk)
    )
    html = client.get(product.get_absolute_url()).content.decode()
    assert "<tryon-widget " in html
    assert 'add-to-cart-url="/cart/add/tee/"' in html
    assert 'privacy-url="/privacy/"' in html
    assert "csrftoken" in client.cookies


# -- template and script stay in step ------------------------------------------------------------


def _hooks(markup: str) -> set[str]:
    parts = {f"part:{p}" for p in re.findall(r'data-tryon-part="([a-z-]+)"', markup)}
    steps = {f"step:{s}" for s in re.findall(r'data-tryon-step="([a-z-]+)"', markup)}
    stages = {f"stage:{s}" for s in re.findall(r'data-stage="([a-z-]+)"', markup)}
    return parts | steps | stages


def test_the_markup_is_only_in_the_template():
    scripts = all_scripts()
    for tag in ("<dialog", "<section", "<button", "<label", "data-tryon-step="):
        assert tag not in scripts
    # Every part the scripts look up exists in the template.
    hooks = _hooks(TEMPLATE.read_text())
    looked_up = set(re.findall(r'\bp\("([a-z-]+)"\)', scripts))
    assert len(looked_up) >= 20
    assert {f"part:{p}" for p in looked_up} <= hooks


def test_scripts_and_styles_are_static_files():
    for name in SCRIPTS:
        assert finders.find(f"django_tryon/widget/{name}"), name
    assert finders.find("django_tryon/widget/tryon-widget.css")


def test_script_needs_no_network_but_the_shop():
    script = all_scripts()
    css = (WIDGET_STATIC / "tryon-widget.css").read_text()
    for text in (script, css):
        assert not re.search(r"https?://", re.sub(r"http://www\.w3\.org/2000/svg", "", text))
    assert "localStorage" not in script.replace("Nothing is written to localStorage", "")
    assert "sessionStorage" not in script.replace("sessionStorage or cookies", "")


# -- translations --------------------------------------------------------------------------------


def test_template_is_translated_to_french(make_garment):
    garment = make_garment()
    with translation.override("fr"):
        html = render("{% tryon_widget garment %}", garment=garment)
    assert ">Essayer</button>" in html
    assert "Choisir une photo" in html
    assert "supprimée sous 24 heures" in html


def test_javascript_catalog_serves_the_widget_strings(client):
    french = client.get("/tryon/jsi18n/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Choisir une photo" in french
    assert "trop petite" in french
    assert "nplurals" not in french or "(n > 1)" in french
    english = client.get("/tryon/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Choisir une photo" not in english


def _po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr (first plural form) of the translated entries of a .po file."""
    entries, key, fields = {}, None, {}

    def flush():
        if fields.get("msgid") and (fields.get("msgstr") or fields.get("msgstr[0]")):
            entries[fields["msgid"]] = fields.get("msgstr") or fields["msgstr[0]"]

    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
        if match:
            if match.group(1) == "msgid":
                flush()
                fields = {}
            key = match.group(1)
            fields[key] = match.group(2)
        elif line.startswith('"') and key:
            fields[key] += line[1:-1]
        elif not line.strip():
            key = None
    flush()
    unescape = lambda s: s.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")  # noqa: E731
    return {unescape(k): unescape(v) for k, v in entries.items()}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_compiled_catalogs_match_their_sources(domain):
    folder = LOCALE / "fr" / "LC_MESSAGES"
    expected = _po_entries(folder / f"{domain}.po")
    assert len(expected) >= 25
    with open(folder / f"{domain}.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = {k: v for k, v in expected.items() if compiled.gettext(k) != v}
    assert not stale, f"run compilemessages: {domain}.mo is older than {domain}.po"


def test_every_script_string_is_in_the_javascript_catalog():
    script = all_scripts()
    strings = set(re.findall(r'\bgettext\(\s*"((?:[^"\\]|\\.)*)"', script))
    strings |= set(re.findall(r'\bgettext\(\s*\n\s*"((?:[^"\\]|\\.)*)"', script))
    singular = set(re.findall(r'ngettext\(\s*"((?:[^"\\]|\\.)*)"', script))
    french = _po_entries(LOCALE / "fr" / "LC_MESSAGES" / "djangojs.po")
    missing = sorted((strings | singular) - set(french))
    assert not missing, f"run makemessages -d djangojs and translate: {missing}"


# -- the markup for an empty element: GET api/widget/ -------------------------------------------


def test_markup_view_serves_the_template_without_assets(client, make_garment, settings):
    settings.TRYON = {**settings.TRYON, "PRIVACY_URL": "shop:privacy"}
    garment = make_garment(name="Red T-shirt")
    response = client.get("/tryon/api/widget/", {"garment": garment.pk, "label": "See <it>"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "no-cache" in response["Cache-Control"]  # it carries a CSRF token
    html = response.content.decode()
    assert "<script" not in html and "<link" not in html
    assert html.count("<tryon-widget ") == 1
    assert attributes(html)["garment"] == str(garment.pk)
    assert attributes(html)["privacy-url"] == "/privacy/"
    assert ">See &lt;it&gt;</button>" in html
    assert _hooks(html) == _hooks(TEMPLATE.read_text())
    assert "csrftoken" in response.cookies


def test_markup_view_speaks_the_shoppers_language(client, make_garment):
    html = client.get(
        "/tryon/api/widget/", {"garment": make_garment().pk}, HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Choisir une photo" in html


@pytest.mark.parametrize("garment", ["", "not-a-uuid", "7c1d0f0e-5b7a-4c55-9a3e-2f3f0d2b1a10"])
def test_markup_view_404s_for_no_such_garment(client, garment):
    assert client.get("/tryon/api/widget/", {"garment": garment}).status_code == 404


def test_markup_view_offers_nothing_when_the_tag_would_not(client, make_garment, settings):
    garment = make_garment()
    settings.TRYON = {**settings.TRYON, "ENABLED": False}
    response = client.get("/tryon/api/widget/", {"garment": garment.pk})
    assert response.status_code == 200
    assert response.content.strip() == b""
    settings.TRYON = {**settings.TRYON, "ENABLED": True}
    inactive = make_garment(active=False)
    assert client.get("/tryon/api/widget/", {"garment": inactive.pk}).content.strip() == b""


def test_privacy_link_is_there_but_hidden_without_a_url(make_garment, settings):
    settings.TRYON = {**settings.TRYON, "PRIVACY_URL": ""}
    html = render("{% tryon_widget garment %}", garment=make_garment())
    link = re.search(r'<a[^>]*data-tryon-part="privacy"[^>]*>', html).group()
    assert " hidden" in link and "href" not in link


def test_widget_renders_without_a_request_in_the_context(make_garment):
    html = Template("{% load tryon %}{% tryon_widget garment %}").render(
        Context({"garment": make_garment()})
    )
    assert "<tryon-widget " in html
    assert attributes(html)["csrf-token"] == ""


def test_example_shop_privacy_page_states_the_retention(client, settings):
    settings.TRYON = {**settings.TRYON, "PERSON_PHOTO_RETENTION_HOURS": 6}
    html = client.get("/privacy/").content.decode()
    assert "Your try-on photos" in html
    assert "deleted within 6 hours" in html
