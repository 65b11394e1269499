"""Callback receipts, read-only: every delivery a provider made, and what became of it.

A refused callback (bad secret after a key change, a proxy that strips a header) shows
here instead of only in a log, next to the try-on it was for.
"""

from __future__ import annotations

from django.contrib import admin

from ..models import CallbackReceipt
from .common import ViewOnly


@admin.register(CallbackReceipt)
class CallbackReceiptAdmin(ViewOnly, admin.ModelAdmin):
    list_display = [
        "received_at",
        "provider",
        "outcome",
        "deliveries",
        "request",
        "status_hint",
        "reason",
    ]
    list_filter = ["provider", "outcome"]
    list_select_related = ["request"]
    date_hierarchy = "received_at"
    search_fields = ["=request__id", "=task_id_hint"]
    fields = [
        "received_at",
        "provider",
        "request",
        "outcome",
        "reason",
        "task_id_hint",
        "status_hint",
        "body_bytes",
        "deliveries",
        "processed_at",
    ]
    readonly_fields = fields
