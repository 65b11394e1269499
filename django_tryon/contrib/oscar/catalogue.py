"""Reading an Oscar product for ``TRYON["CATALOGUE"]``: its primary image and the names
of its categories (with their ancestors, as in its breadcrumbs) and product class."""

from __future__ import annotations


def primary_image(product):
    """The original file of the product's primary image (its parent's for a variant)."""
    image = product.primary_image()
    original = getattr(image, "original", None)
    return original if getattr(original, "name", "") else None


def category_names(product) -> list[str]:
    names = []
    for category in product.get_categories().all():
        names += [ancestor.name for ancestor in category.get_ancestors_and_self()]
    product_class = product.get_product_class()
    if product_class is not None:
        names.append(product_class.name)
    return list(dict.fromkeys(names))


def connect() -> None:
    """A product's new image (Oscar keeps images in their own model) updates its garment."""
    from django.db.models.signals import post_delete, post_save
    from oscar.core.loading import get_model

    image_model = get_model("catalogue", "ProductImage")
    post_save.connect(_image_changed, sender=image_model, dispatch_uid="django_tryon.oscar.img")
    post_delete.connect(_image_changed, sender=image_model, dispatch_uid="django_tryon.oscar.del")


def _image_changed(sender, instance, raw=False, **kwargs) -> None:
    from ...products import product_saved

    if not raw and instance.product_id:
        product = instance.product
        product_saved(type(product), product)
