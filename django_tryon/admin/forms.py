"""Forms of the admin: checked image uploads (the bulk try-on page's is ``bulk``)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .. import files, images
from ..models import Garment, ModelPhoto


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
