"""The example shop's catalogue: one model, linked to django-tryon garments."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField(blank=True)
    category = models.CharField(
        max_length=100,
        blank=True,
        help_text="The shop's own category, e.g. T-shirts or Jeans: "
        "TRYON['CATALOGUE']['CATEGORY_MAP'] turns it into a garment category.",
    )
    image = models.ImageField(upload_to="shop/products/", blank=True, max_length=255)
    # Garment.product is a GenericForeignKey whose object id is a CharField, hence the
    # explicit field names. Prefer prefetch_related("garments") over joins across this
    # relation: the id columns have different types (text vs integer).
    garments = GenericRelation(
        "django_tryon.Garment",
        content_type_field="product_type",
        object_id_field="product_id",
        related_query_name="shop_product",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product-detail", kwargs={"slug": self.slug})

    @property
    def tryon_garment(self):
        """The first active garment linked to this product (oldest first), or None.

        Uses the ``garments`` prefetch cache when the queryset was built with
        ``prefetch_related("garments")``.
        """
        cache = getattr(self, "_prefetched_objects_cache", {})
        if "garments" in cache:
            active = [g for g in cache["garments"] if g.active]
            return min(active, key=lambda g: (g.created_at, str(g.pk)), default=None)
        return self.garments.filter(active=True).order_by("created_at", "pk").first()
