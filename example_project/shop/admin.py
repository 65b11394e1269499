from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from django_tryon.admin.products import sync_garments

from .models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "has_tryon"]
    list_filter = ["category"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["tryon_garments"]
    fields = ["name", "slug", "price", "category", "description", "image", "tryon_garments"]
    # Garments from the selected products (TRYON["CATALOGUE"], docs/shops.md).
    actions = [sync_garments]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("garments")

    @admin.display(boolean=True, description="Try-on")
    def has_tryon(self, obj):
        return obj.tryon_garment is not None

    @admin.display(description="Try-on garments")
    def tryon_garments(self, obj):
        garments = list(obj.garments.all()) if obj.pk else []
        if not garments:
            return (
                "None yet: select the product in the list and run 'Make or update try-on garments'."
            )
        rows = []
        for g in garments:
            label = f"{g.name} ({g.get_category_display()}{'' if g.active else ', inactive'})"
            try:
                url = reverse("admin:django_tryon_garment_change", args=[g.pk])
            except NoReverseMatch:  # the garment admin is not registered
                rows.append(format_html("<li>{}</li>", label))
            else:
                rows.append(format_html('<li><a href="{}">{}</a></li>', url, label))
        return format_html("<ul>{}</ul>", format_html_join("", "{}", ((r,) for r in rows)))
