"""The admin action a shop adds to its own product admin: garments from the selected
products (``django_tryon.products.sync``)::

    from django_tryon.admin.products import sync_garments

    @admin.register(Product)
    class ProductAdmin(admin.ModelAdmin):
        actions = [sync_garments]
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured

from .. import products


@admin.action(description="Make or update try-on garments", permissions=["change"])
def sync_garments(modeladmin, request, queryset):
    try:
        report = products.sync(queryset)
    except ImproperlyConfigured as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    done = len(report.created) + len(report.updated)
    modeladmin.message_user(
        request,
        f"Try-on garments: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged.",
        messages.SUCCESS if done or not report.skipped else messages.INFO,
    )
    for product, why in report.skipped:
        modeladmin.message_user(request, f"Skipped {product}: {why}.", messages.WARNING)
