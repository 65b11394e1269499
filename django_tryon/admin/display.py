"""HTML pieces the admin pages share: thumbnails, status badges, money and plain-words errors.

Thumbnails are ``<img>`` tags pointing at the storage URL, sized by CSS: building one costs
no query and no image decoding, so a changelist of 500 rows costs what one of 10 does.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import links
from ..conf import get_setting
from ..models import TryOnRequest, TryOnResult
from ..providers import provider_class
from ..status import Status

#: How the admin names the providers it knows (others show their registry name).
#: How each status looks: a badge tone (CSS class) per status.
STATUS_TONES = {
    Status.PENDING: "waiting",
    Status.SUBMITTING: "waiting",
    Status.SUBMITTED: "running",
    Status.PROCESSING: "running",
    Status.SUCCEEDED: "ok",
    Status.FAILED: "error",
    Status.CANCELLED: "muted",
}

#: What an error code means to a merchandiser (the shopper's message is kept separately).


def thumbnail(file, alt: str, *, size: str = "small", link: bool = False) -> SafeString:
    """An ``<img>`` for a stored image (CSS-sized), or a dash when there is none. A
    result image gets an expiring link (``links.result_url``), never a permanent one."""
    if not file:
        return placeholder("no image")
    try:
        if isinstance(file.instance, TryOnResult):
            url = links.result_url(file.instance)
        else:
            url = file.url
    except (ValueError, NotImplementedError):
        return placeholder("no image")
    img = format_html(
        '<img class="tryon-thumb tryon-thumb-{}" src="{}" alt="{}" loading="lazy">', size, url, alt
    )
    if link:
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, img)
    return img


def placeholder(text: str) -> SafeString:
    return format_html('<span class="tryon-thumb-placeholder">{}</span>', text)


def status_badge(status: str) -> SafeString:
    tone = STATUS_TONES.get(status, "muted")
    try:
        label = Status(status).label
    except ValueError:
        label = status
    return format_html('<span class="tryon-badge tryon-badge-{}">{}</span>', tone, label)


#: Currencies written with their sign in front, as shops pricing in them write them.
SIGNS = {"USD": "$", "GBP": "£", "EUR": "€"}


#: What providers bill by count rather than in money (Kling's units, FASHN's credits,
#: Model Studio's images): written as a count, ``1 image``, ``2.5 units``.
COUNTED = {"units": "unit", "credits": "credit", "images": "image"}


def money(amount: Decimal | None, currency: str) -> str:
    """``$0.14``, ``£2.80``, ``6 units``, ``1 image``, ``12.50 CHF``; a dash when unknown."""
    if amount is None:
        return "—"
    if currency in SIGNS:
        return f"{SIGNS[currency]}{amount:,.2f}"
    if currency in COUNTED:
        number = format(Decimal(amount).normalize(), "f")
        return f"{number} {COUNTED[currency]}{'' if Decimal(amount) == 1 else 's'}"
    return f"{amount:,.2f} {currency}".strip()


def request_cost(request) -> str:
    """A request's cost in the shop's money with what was billed beside it (``$0.14 (1
    unit)``), or as billed when it has no price."""
    return priced(request.cost, request.cost_currency, request.unit_price, request.shop_currency)


def charge_text(charge) -> str:
    """A ``quotas.Charge`` as ``priced`` shows it: what a run is expected to cost."""
    return priced(charge.amount, charge.currency, charge.price, charge.shop_currency)


def priced(amount, currency: str, price, shop_currency: str) -> str:
    """``amount`` billed in ``currency``, in the shop's money when ``price`` is known."""
    billed = money(amount, currency)
    if amount is None or price is None or not shop_currency or shop_currency == currency:
        return billed
    in_money = money((Decimal(amount) * price).quantize(Decimal("0.01")), shop_currency)
    return f"{in_money} ({billed})"


def shopper_photos_visible() -> bool:
    return bool(get_setting("ADMIN_SHOW_SHOPPER_PHOTOS"))


def shows_a_shopper(request: TryOnRequest) -> bool:
    """True when the request's images show a shopper (their photo, not a house model)."""
    return request.model_photo_id is None


def provider_label(name: str) -> str:
    """The adapter's own label; a provider no longer configured keeps its name."""
    try:
        return provider_class(name).label or name
    except ImproperlyConfigured:
        return name


def batch_providers_label(names: str) -> str:
    """A batch's provider, or its providers ("fashn, kling" for a routed batch)."""
    return ", ".join(provider_label(name) for name in names.split(", "))


def short_provider_label(name: str) -> str:
    """The label without its parenthesis ("PiAPI (Kling through PiAPI)" -> "PiAPI"), for
    list columns; pages with room show the whole label."""
    return provider_label(name).split(" (", 1)[0]


def batch_label(batch) -> str:
    """A batch by when it started, in the shop's short date and time format."""
    return date_format(timezone.localtime(batch.created_at), "SHORT_DATETIME_FORMAT")


def admin_link(obj, label=None) -> SafeString | str:
    """A link to ``obj``'s admin change page, or its name when it has none."""
    label = str(obj) if label is None else label
    if obj is None:
        return "—"
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


def garments_label(request: TryOnRequest) -> str:
    """ "Red T-shirt", or "Red T-shirt + Blue jeans" for an outfit."""
    if request.lower_garment_id:
        return f"{request.garment.name} + {request.lower_garment.name}"
    return request.garment.name
