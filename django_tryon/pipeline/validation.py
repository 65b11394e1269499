"""Checking what a caller asks for before anything is created, stored or charged."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import images, routing
from ..conf import get_setting
from ..errors import TryOnValidationError
from ..models import ACCESSORIES, Category
from ..providers import get_provider, provider_names
from ..providers.base import Provider, ProviderConfigurationError


@dataclass
class FieldErrors:
    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise TryOnValidationError(self.by_field)


def validated_provider(name: str, errors: FieldErrors) -> Provider | None:
    if name not in provider_names():
        errors.add(
            "provider", f"Unknown provider '{name}'. Choose one of: {', '.join(provider_names())}."
        )
        return None
    try:
        adapter = get_provider(name)
    except ProviderConfigurationError as exc:
        errors.add("provider", f"Provider '{name}' is not configured: {exc}")
        return None
    if adapter.needs_input_urls and not get_setting("PUBLIC_BASE_URL"):
        errors.add(
            "provider",
            f"Provider '{name}' fetches images by URL, so TRYON['PUBLIC_BASE_URL'] must be set.",
        )
    return adapter


def validate_garments(
    garment, lower_garment, errors: FieldErrors, *, require_active=True, adapter=None
) -> None:
    """The garments exist, are offered, make a valid outfit, and the provider (when known)
    can try them on: its declared categories and whether it takes an outfit at all."""
    if garment is None:
        errors.add("garment", "Choose a garment.")
        return
    if require_active and not garment.active:
        errors.add("garment", f"'{garment.name}' is not available for try-on.")
    _provider_takes(adapter, garment, "garment", errors)
    if lower_garment is None:
        return
    if require_active and not lower_garment.active:
        errors.add("lower_garment", f"'{lower_garment.name}' is not available for try-on.")
    _provider_takes(adapter, lower_garment, "lower_garment", errors)
    if adapter is not None and not (adapter.composes_outfits or adapter.takes_lower_garment):
        label = adapter.label or adapter.name
        errors.add("lower_garment", f"{label} tries on one garment at a time.")
        return
    try:
        check_outfit(garment.category, lower_garment.category)
    except images.ImageError as exc:
        errors.add("lower_garment", exc.message)


def _provider_takes(adapter, garment, field: str, errors: FieldErrors) -> None:
    if adapter is None or garment.category in adapter.garment_categories:
        return
    if not routing.providers_taking(garment.category):
        kind = garment.get_category_display().lower()
        errors.add(field, f"No try-on provider this shop uses can try on {kind}.")
        return
    label = adapter.label or adapter.name
    errors.add(field, f"{label} cannot try on this kind of garment ({garment.category}).")


@dataclass(frozen=True)
class Upload:
    """A shopper's photo that passed the checks, with what its header said."""

    data: bytes
    info: images.ImageInfo


def validated_person(person_image, model_photo, errors: FieldErrors) -> Upload | None:
    if (person_image is None) == (model_photo is None):
        errors.add("person_image", "Give either a person photo or a house model, not both.")
        return None
    if model_photo is not None:
        if not model_photo.active:
            errors.add("model_photo", f"'{model_photo.name}' is not available.")
        return None
    max_bytes = get_setting("UPLOAD_MAX_BYTES")
    size = len(person_image) if isinstance(person_image, bytes) else person_image.size
    if size is not None and size > max_bytes:
        errors.add(
            "person_image",
            f"This photo is too large ({size / 1048576:.1f} MB). "
            f"The limit is {max_bytes / 1048576:.0f} MB.",
        )
        return None
    data = person_image if isinstance(person_image, bytes) else _read_all(person_image)
    try:
        info = images.inspect_image(data)
        images.check_sendable(info)
        images.check_complete(data, info.format)
    except images.ImageError as exc:
        errors.add("person_image", exc.message)
        return None
    return Upload(data, info)


def storable_upload(upload: Upload, *, before_decoding=None) -> tuple[bytes, bool]:
    """What may be stored of a validated upload, and whether it is already provider-ready.

    A JPEG or PNG loses every metadata segment without being decoded (a few ms for a
    12-megapixel photo), keeping only its orientation tag; a worker re-encodes it before
    it is sent. Anything else is re-encoded from pixels (upright RGB JPEG, no metadata)
    by a child process under a memory cap (``images.isolated``), after
    ``before_decoding()`` (the quota look) has not raised. Either way the uploaded bytes,
    GPS and all, never reach storage.
    """
    info = upload.info  # read by validated_person: the header is not parsed again
    try:
        stripped = images.without_metadata(upload.data, info.format, info.orientation)
        if stripped is not None:
            return stripped, False
        if before_decoding is not None:
            before_decoding()
        return images.prepare_isolated(upload.data, info).data, True
    except images.ImageError as exc:
        raise TryOnValidationError({"person_image": [exc.message]}) from None


def validate_batch_size(batch_size, adapter: Provider, errors: FieldErrors) -> None:
    if not isinstance(batch_size, int) or not 1 <= batch_size <= adapter.max_batch_size:
        label = adapter.label or adapter.name
        most = adapter.max_batch_size
        errors.add(
            "batch_size",
            f"{label} makes one image per try-on: the batch size must be 1."
            if most == 1
            else f"The batch size must be between 1 and {most} for {label}.",
        )


def _read_all(upload) -> bytes:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


#: Garment categories the providers know.
CATEGORIES = tuple(Category.values)


def check_outfit(first_category: str, second_category: str | None) -> None:
    """Refuse garment pairs the provider cannot try on together (before paying).

    One garment of any category is fine; a pair must be exactly one top ("upper") and
    one bottom ("lower"), in either order. A dress is worn alone.
    """
    for category in (first_category, second_category):
        if category is not None and category not in CATEGORIES:
            raise images.ImageError(
                "invalid_outfit",
                f"Unknown garment category {category!r}: use {', '.join(CATEGORIES)}.",
            )
    if second_category is None:
        return
    pair = {first_category, second_category}
    if pair == {"upper", "lower"}:
        return
    if pair & ACCESSORIES:
        message = (
            "Shoes, bags, hats and jewellery are tried on by themselves: they cannot be "
            "combined with another garment. Remove one of them."
        )
    elif "dress" in pair:
        message = (
            "A dress is tried on by itself: it cannot be combined with another garment. "
            "Remove one of them."
        )
    elif first_category == "upper":
        message = (
            "An outfit needs one top and one bottom: two tops cannot be tried on together. "
            "Replace one of them with trousers or a skirt."
        )
    else:
        message = (
            "An outfit needs one top and one bottom: two bottoms cannot be tried on "
            "together. Replace one of them with a top."
        )
    raise images.ImageError("invalid_outfit", message)
