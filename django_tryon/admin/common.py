"""What the try-on admin pages share: permissions, filters, the read-only base, messages."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..providers import provider_names
from .display import provider_label

PUBLISH_PERMISSION = "django_tryon.publish_tryonresult"


#: Longest side of a shopper photo served to staff (always re-encoded, never as uploaded).
PERSON_PHOTO_SIDES = {"small": 160, "large": 800}


class ProviderFilter(admin.SimpleListFilter):
    title = _("provider")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(name, provider_label(name)) for name in provider_names()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field_path: self.value()})
        return queryset

    field_path = "provider"


class ResultProviderFilter(ProviderFilter):
    field_path = "request__provider"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the pipeline writes: viewable, never added, edited or deleted by hand."""

    class Media:
        css = {"all": ["django_tryon/admin/tryon-admin.css"]}

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f for _name, opts in self.get_fieldsets(request, obj) for f in opts["fields"]]

    def save_model(self, request, obj, form, change):
        """Never save: a whole-row write could undo a status a worker set a moment ago."""

    def save_related(self, request, form, formsets, change):
        pass

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "title": str(self.opts.verbose_name).capitalize(),
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)


def change_url(obj, current_app) -> str:
    opts = obj._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk], current_app=current_app
    )


def say_count(modeladmin, request, count: int, singular, plural, level=messages.SUCCESS):
    """One admin message about ``count`` things, in the form ``ngettext`` picks for it;
    ``%(n)d`` in the texts stands for the count."""
    modeladmin.message_user(request, ngettext(singular, plural, count) % {"n": count}, level)


def report_publish(modeladmin, request, approved: int, refused: int) -> None:
    """Tell the merchandiser what approving did (shared by the list and the batch page)."""
    say_count(
        modeladmin,
        request,
        approved,
        "%(n)d result approved for product pages.",
        "%(n)d results approved for product pages.",
    )
    if refused:
        say_count(
            modeladmin,
            request,
            refused,
            "%(n)d result cannot be approved: only finished catalogue try-ons on house models "
            "can appear on product pages, never a shopper's.",
            "%(n)d results cannot be approved: only finished catalogue try-ons on house "
            "models can appear on product pages, never a shopper's.",
            messages.WARNING,
        )


def report_withdrawn(modeladmin, request, count: int) -> None:
    say_count(
        modeladmin,
        request,
        count,
        "%(n)d result withdrawn from product pages.",
        "%(n)d results withdrawn from product pages.",
    )


class ViewOnly:
    """Rows staff may look at, never add, change or delete by hand (a ModelAdmin mixin)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
