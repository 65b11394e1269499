"""Forms of the admin: checked image uploads, and the bulk try-on page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .. import files, images, quotas, routing, services
from ..conf import get_setting
from ..models import Garment, ModelPhoto
from ..providers import get_provider, provider_names
from .display import charge_text, provider_label

#: One web request creates every try-on of a batch, so a batch has a ceiling.
MAX_TRYONS_PER_BATCH = 1000


class CheckedImageField(forms.FileField):
    """An image upload checked with the pipeline's own rules (format, size, smallest side).

    A file that is not an image, too small or too large is a form error with the same
    message a shopper gets, never a crash.
    """

    widget = forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})

    def to_python(self, data):
        upload = super().to_python(data)
        if upload is None:
            return None
        try:
            images.check_sendable(images.verify_image(upload))
        except images.ImageError as exc:
            raise ValidationError(exc.message, code=exc.code) from None
        return upload


class CatalogueImageForm(forms.ModelForm):
    """Garment and model photo forms: a new image is checked, then stored without metadata."""

    image = CheckedImageField(
        label=_("image"),
        help_text=_(
            "JPEG, PNG or WebP, at least 300 pixels a side. Stored again without its "
            "metadata (camera, location)."
        ),
    )

    def save(self, commit=True):
        obj = super().save(commit=False)
        if "image" in self.changed_data:
            upload = self.cleaned_data["image"]
            upload.seek(0)
            files.attach_image(obj, files.catalogue_image(upload.read()))
        if commit:
            obj.save()
            self._save_m2m()
        return obj


class GarmentForm(CatalogueImageForm):
    class Meta:
        model = Garment
        fields = ["name", "sku", "category", "image", "active", "product_type", "product_id"]
        help_texts = {
            "category": _("Upper body, lower body, or a dress worn alone; the provider is told."),
            "active": _("Shoppers see the try-on button, and bulk try-ons may use it."),
            "product_id": _("The product's primary key, with its type above."),
        }


class ModelPhotoForm(CatalogueImageForm):
    class Meta:
        model = ModelPhoto
        fields = ["name", "image", "active", "offer_to_shoppers"]


# -- bulk try-on -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderChoice:
    """A configured provider as the bulk page offers it."""

    name: str
    label: str
    max_batch_size: int
    #: batch size -> what one try-on counts (its cost, and its price in the shop's money)
    costs: dict[int, quotas.Charge]

    def as_json(self) -> dict:
        return {
            "label": self.label,
            "max_batch_size": self.max_batch_size,
            "costs": {
                str(n): [str(c.amount), c.currency, str(c.price or ""), c.shop_currency]
                for n, c in self.costs.items()
            },
        }


def available_providers() -> list[ProviderChoice]:
    """Providers that are configured and usable now: first the one the admin's route
    (``TRYON["ROUTING"]``) would use now, else the default provider."""
    default = routing.first_available("admin")
    choices = []
    for name in provider_names():
        try:
            adapter = get_provider(name)
        except ImproperlyConfigured:
            continue
        if adapter.needs_input_urls and not get_setting("PUBLIC_BASE_URL"):
            continue
        costs = {n: services.charge_for(adapter, n) for n in range(1, adapter.max_batch_size + 1)}
        choices.append(ProviderChoice(name, provider_label(name), adapter.max_batch_size, costs))
    return sorted(choices, key=lambda c: (c.name != default, c.name))


class GarmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.get_category_display()})"


class BulkTryOnForm(forms.Form):
    """Pick house models, an optional second garment, a provider and a batch size."""

    model_photos = forms.ModelMultipleChoiceField(
        queryset=ModelPhoto.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label=_("House models"),
        error_messages={"required": _("Pick at least one house model.")},
    )
    lower_garment = GarmentChoiceField(
        queryset=Garment.objects.none(),
        required=False,
        label=_("Wear with (optional)"),
        empty_label=_("Nothing: each garment on its own"),
        help_text=_(
            "Makes outfits: each selected garment is tried on together with this one. "
            "An outfit is one top and one bottom; a dress is always worn alone."
        ),
    )
    provider = forms.ChoiceField(label=_("Provider"))
    batch_size = forms.TypedChoiceField(
        coerce=int,
        label=_("Images per try-on"),
        initial=1,
        help_text=_("Each image is paid for."),
    )
    note = forms.CharField(
        max_length=200,
        required=False,
        label=_("Note"),
        help_text=_("For you and your colleagues, e.g. 'spring lookbook'."),
    )

    def __init__(self, *args, garments, **kwargs):
        super().__init__(*args, **kwargs)
        self.garments = list(garments)
        self.fields["model_photos"].queryset = ModelPhoto.objects.filter(active=True)
        self.fields["lower_garment"].queryset = Garment.objects.filter(active=True).order_by(
            "category", "name"
        )
        self.providers = {choice.name: choice for choice in available_providers()}
        self.fields["provider"].choices = [(c.name, c.label) for c in self.providers.values()]
        if self.providers:
            self.fields["provider"].initial = next(iter(self.providers))
        largest = max((c.max_batch_size for c in self.providers.values()), default=1)
        self.fields["batch_size"].choices = [(n, str(n)) for n in range(1, largest + 1)]

    def clean(self):
        data = super().clean()
        if not self.providers:
            raise ValidationError(_("No try-on provider is configured (TRYON['PROVIDERS'])."))
        choice = self.providers.get(data.get("provider"))
        size = data.get("batch_size")
        if choice and size and size > choice.max_batch_size:
            self.add_error(
                "batch_size",
                f"{choice.label} makes at most {choice.max_batch_size} "
                f"image{'' if choice.max_batch_size == 1 else 's'} per try-on.",
            )
        switched_off = [g.name for g in self.garments if not g.active]
        if switched_off:
            self.add_error(
                None,
                f"Switched off for try-on: {', '.join(switched_off)}. Switch "
                f"{'it' if len(switched_off) == 1 else 'them'} on first, or leave "
                f"{'it' if len(switched_off) == 1 else 'them'} out.",
            )
        lower = data.get("lower_garment")
        if lower is not None:
            self._check_outfits(lower)
        photos = data.get("model_photos")
        if photos is not None and self.count(len(photos)) > MAX_TRYONS_PER_BATCH:
            self.add_error(
                None,
                f"That is {self.count(len(photos))} try-ons; one batch can have at most "
                f"{MAX_TRYONS_PER_BATCH}. Select fewer garments or house models.",
            )
        return data

    def _check_outfits(self, lower: Garment) -> None:
        if any(g.pk == lower.pk for g in self.garments):
            self.add_error(
                "lower_garment",
                f"'{lower.name}' is one of the selected garments: it cannot be worn with itself.",
            )
            return
        refused: dict[str, list[str]] = {}
        for garment in self.garments:
            try:
                services.check_outfit(garment.category, lower.category)
            except images.ImageError as exc:
                refused.setdefault(exc.message, []).append(garment.name)
        for message, names in refused.items():
            self.add_error("lower_garment", f"{', '.join(names)} with {lower.name}: {message}")

    def count(self, photos: int) -> int:
        return len(self.garments) * photos

    def estimate(self) -> dict:
        """How many try-ons and what they should cost, from what is picked so far.

        Read from the submitted values as they are (for display): confirming validates.
        """
        raw = self.data if self.is_bound else QueryDict()
        photos = len(raw.getlist("model_photos"))
        choice = self.providers.get(raw.get("provider")) or next(
            iter(self.providers.values()), None
        )
        size = _int(raw.get("batch_size"))
        made = self._already_made(raw, choice, size)
        count = self.count(photos) - made
        estimate = {
            "count": count,
            "garments": len(self.garments),
            "photos": photos,
            "made": made,
            "nothing_new": photos > 0 and count == 0,
        }
        if choice is not None:
            size = size if size in choice.costs else 1
            each = choice.costs[size]
            estimate.update(each=charge_text(each), total=charge_text(each.times(count)))
            if count:
                # A read-only look at the shop's limits; creating the batch enforces them.
                allowance = quotas.remaining(
                    "", enforce_shopper=False, next_charge=each.times(count)
                )
                if not allowance.available:
                    estimate["blocked"] = allowance.message
        return estimate

    def _already_made(self, raw, choice, size) -> int:
        """How many picked pairs already have a result (or one being made) with these
        settings: a run would not repeat them, so they are not counted."""
        if choice is None or not self.garments:
            return 0
        size = size if size in choice.costs else 1
        picked = [p for p in raw.getlist("model_photos") if p]
        lower = raw.get("lower_garment")
        if not lower:  # what the page's script counts with, worked out once
            per_photo = self.made_by_photo.get(choice.name, {}).get(str(size), {})
            return sum(per_photo.get(str(photo), 0) for photo in picked)
        photos = list(ModelPhoto.objects.filter(pk__in=picked)) if picked else []
        if not photos:
            return 0
        made = services.already_made(
            self.garments,
            photos,
            provider=choice.name,
            batch_size=size,
            lower_garment=Garment.objects.filter(pk=lower).first(),
        )
        return len(made)

    @cached_property
    def made_by_photo(self) -> dict:
        """Per provider and batch size, how many of the selected garments each active house
        model already has (with no lower garment picked): for the page's script, and the
        estimate's own count (one query per provider and batch size, once per page)."""
        if not self.garments:
            return {}
        photos = list(ModelPhoto.objects.filter(active=True))
        counts: dict = {}
        for name, choice in self.providers.items():
            for size in choice.costs:
                made = services.already_made(self.garments, photos, provider=name, batch_size=size)
                per_photo: dict[str, int] = {}
                for _garment, photo in made:
                    per_photo[str(photo)] = per_photo.get(str(photo), 0) + 1
                counts.setdefault(name, {})[str(size)] = per_photo
        return counts


def _int(value, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
