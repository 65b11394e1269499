"""The shop's own products as garments: ``TRYON["CATALOGUE"]`` names the product model
and how to read it, and ``sync`` keeps one garment per product.

A shop names its product model once::

    TRYON["CATALOGUE"] = {
        "PRODUCT_MODEL": "shop.Product",
        "IMAGE": "image",              # what to try on: a file field, or bytes
        "NAME": "name",
        "SKU": "sku",                  # optional
        "CATEGORIES": "category_names",  # a name or a list of names
        "CATEGORY_MAP": {"T-shirts": "upper", "Jeans": "lower", "Dresses": "dress"},
    }

Each reader is an attribute of the product (called when it is a method) or the dotted
path of a function that takes the product. Then ``{% tryon_widget product %}`` and
``{% tryon_gallery product %}`` take a product, and ``manage.py tryon_sync_garments``
(or the admin action ``sync_garments``) makes or updates its garment. A product whose
categories map to no garment category, or to two, is skipped and said, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string

from .conf import get_setting
from .models import Category, Garment

READERS = ("IMAGE", "NAME", "SKU", "CATEGORIES")


@dataclass
class SyncReport:
    """What ``sync`` did (or, dry, would do), product by product."""

    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    skipped: list[tuple[object, str]] = field(default_factory=list)


def garment_of(obj) -> Garment | None:
    """The garment to try on for ``obj``: itself when it is one, else the product's
    active garment (the oldest), or None."""
    if obj is None or isinstance(obj, Garment):
        return obj
    return garments_of(type(obj), [obj.pk]).filter(active=True).order_by("created_at", "pk").first()


def garments_of(model, product_ids):
    """The garments linked to these products of ``model`` (active or not)."""
    return Garment.objects.filter(
        product_type=ContentType.objects.get_for_model(model),
        product_id__in=[str(pk) for pk in product_ids],
    )


def product_model():
    """The model ``TRYON["CATALOGUE"]["PRODUCT_MODEL"]`` names; ImproperlyConfigured if none."""
    options = catalogue_options()
    try:
        return apps.get_model(options["PRODUCT_MODEL"])
    except (LookupError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"TRYON['CATALOGUE']['PRODUCT_MODEL'] is {options['PRODUCT_MODEL']!r}: {exc}"
        ) from None


def catalogue_options() -> dict:
    """TRYON["CATALOGUE"], over the defaults an installed app declares for its shop
    framework (``tryon_catalogue`` on its AppConfig, as ``django_tryon.contrib.oscar`` does;
    the shop still names its CATEGORY_MAP). Read through the app registry, so this module
    never imports an integration that imports it."""
    options = dict(get_setting("CATALOGUE") or {})
    for config in apps.get_app_configs():
        defaults = getattr(config, "tryon_catalogue", None)
        if defaults:
            options = {**defaults, **options}
    if not options.get("PRODUCT_MODEL"):
        raise ImproperlyConfigured(
            "Set TRYON['CATALOGUE'] (PRODUCT_MODEL, IMAGE, NAME, CATEGORIES, CATEGORY_MAP) "
            "to make garments from your products (docs/shops.md)."
        )
    return options


def category_of(product) -> tuple[str | None, str]:
    """The garment category ``product`` maps to, or None and why it cannot be placed."""
    options = catalogue_options()
    names = _read(product, options.get("CATEGORIES"))
    if isinstance(names, str) or names is None:
        names = [names] if names else []
    mapping = {str(k).casefold(): v for k, v in (options.get("CATEGORY_MAP") or {}).items()}
    found = {mapping[str(n).casefold()] for n in names if str(n).casefold() in mapping}
    if not found:
        shown = ", ".join(str(n) for n in names) or "none"
        return None, f"no category in CATEGORY_MAP (its categories: {shown})"
    if len(found) > 1:
        return None, f"its categories map to more than one: {', '.join(sorted(found))}"
    category = found.pop()
    if category not in Category.values:
        return None, f"CATEGORY_MAP names {category!r}, not one of {', '.join(Category.values)}"
    return category, ""


def sync(products=None, *, dry_run: bool = False) -> SyncReport:
    """Make or update one garment per product (all of the product model's when
    ``products`` is None) from its image, name and category. Running it again changes
    nothing; ``dry_run`` says what it would do and writes nothing."""
    from .files import attach_image, catalogue_image
    from .images import ImageError

    options = catalogue_options()
    model = product_model()
    products = model._default_manager.all() if products is None else products
    kind = ContentType.objects.get_for_model(model)
    report = SyncReport()
    for product in products:
        category, why = category_of(product)
        if category is None:
            report.skipped.append((product, why))
            continue
        data = _image_bytes(_read(product, options.get("IMAGE")))
        if not data:
            report.skipped.append((product, "it has no image"))
            continue
        try:
            image = catalogue_image(data)
        except ImageError as exc:
            report.skipped.append((product, f"its image cannot be used: {exc.message}"))
            continue
        name = str(_read(product, options.get("NAME")) or product)[:200]
        sku = str(_read(product, options.get("SKU")) or "")[:100]
        garment = garments_of(model, [product.pk]).order_by("created_at", "pk").first()
        wanted = {"name": name, "sku": sku, "category": category}
        if garment is None:
            report.created.append(product)
            if not dry_run:
                garment = Garment(product_type=kind, product_id=str(product.pk), **wanted)
                attach_image(garment, image)
                garment.save()
            continue
        changed = {k: v for k, v in wanted.items() if getattr(garment, k) != v}
        if garment.image_digest == image.digest and not changed:
            report.unchanged.append(product)
            continue
        report.updated.append(product)
        if not dry_run:
            with transaction.atomic():
                for key, value in changed.items():
                    setattr(garment, key, value)
                if garment.image_digest != image.digest:
                    attach_image(garment, image)
                garment.save()
    return report


def _read(product, reader):
    """A product's value: ``reader`` is an attribute (called when callable) or the dotted
    path of a function of the product."""
    if not reader:
        return None
    if "." in reader:
        try:
            return import_string(reader)(product)
        except ImportError as exc:
            raise ImproperlyConfigured(f"TRYON['CATALOGUE']: cannot import {reader!r}") from exc
    value = getattr(product, reader, None)
    return value() if callable(value) else value


def _image_bytes(value) -> bytes | None:
    """Bytes of an image field's file, or bytes as given; None when there is none."""
    if value is None or isinstance(value, bytes):
        return value or None
    if not getattr(value, "name", None):
        return None
    try:
        with value.open("rb") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


def product_saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    """``post_save`` of any model: a product of the shop's product model that already has
    a garment gets it updated (a new picture, name or category reaches try-on at once).
    A product without one is left to ``tryon_sync_garments`` or the admin action."""
    if raw or not (get_setting("CATALOGUE") or apps.is_installed("django_tryon.contrib.oscar")):
        return
    if sender._meta.label_lower != str(catalogue_options()["PRODUCT_MODEL"]).lower():
        return
    if garments_of(sender, [instance.pk]).exists():
        transaction.on_commit(lambda: sync([instance]))
