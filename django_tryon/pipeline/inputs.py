"""Making the images provider-ready (no money spent yet) and building the adapter input."""

from __future__ import annotations

import hashlib
import secrets

from django.core.files.base import ContentFile

from .. import files, images
from ..links import callback_secret, callback_token, callback_url, hash_token, signed_input_url
from ..models import TryOnRequest, tryon_storage
from ..providers.base import InputImage, Provider, TryOnInput


def prepare_inputs(request: TryOnRequest, adapter: Provider) -> TryOnInput:
    """Make every image provider-ready (no money spent yet) and build the adapter's input."""
    storage = tryon_storage()
    if request.model_photo_id:
        person = _prepared_copy(
            request.model_photo.image, "model", catalogue_digest(request.model_photo)
        )
    else:
        if not request.person_image:
            raise images.ImageError(
                "input_unavailable", "The photo for this try-on is no longer stored."
            )
        if not request.person_prepared:  # stored without its metadata, not yet re-encoded
            _normalise_person(request)
        person = request.person_image.name
    garment_name = _prepared_copy(
        request.garment.image, "garment", catalogue_digest(request.garment)
    )
    lower_name = None
    category = request.garment.category
    if request.lower_garment_id:
        lower_name = _prepared_copy(
            request.lower_garment.image, "garment", catalogue_digest(request.lower_garment)
        )
        if adapter.composes_outfits:
            upper, lower = (garment_name, lower_name)
            if request.garment.category != "upper":
                upper, lower = lower, upper
            garment_name = _composed_outfit(upper, lower)
            lower_name = None

    def image_input(name: str) -> InputImage:
        with storage.open(name, "rb") as fh:
            data = fh.read()
        # The URL dies with the try-on: once it ends, the provider has no more use for it.
        url = signed_input_url(name, request.pk) if adapter.needs_input_urls else None
        return InputImage(data=data, content_type="image/jpeg", url=url)

    if not request.callback_salt:
        request.callback_salt = secrets.token_hex(16)
        request.callback_token_hash = hash_token(callback_token(request))
    return TryOnInput(
        request_id=str(request.pk),
        person=image_input(person),
        garment=image_input(garment_name),
        garment_category=category,
        lower_garment=image_input(lower_name) if lower_name else None,
        batch_size=request.batch_size,
        callback_url=callback_url(request),
        callback_secret=callback_secret(request),
    )


def catalogue_digest(obj) -> str:
    """Digest of a garment's or model photo's image, computed once and kept on the row."""
    if obj is None:
        return ""
    if not obj.image_digest:
        with obj.image.open("rb") as fh:
            obj.image_digest = hashlib.sha256(fh.read()).hexdigest()
        type(obj).objects.filter(pk=obj.pk).update(image_digest=obj.image_digest)
    return obj.image_digest


def _prepared_copy(image_field, kind: str, digest: str) -> str:
    """Storage name of a provider-ready copy of a shop image, made once and reused."""
    storage = tryon_storage()
    name = files.prepared_name(kind, digest)
    if not storage.exists(name):
        with image_field.open("rb") as fh:
            prepared = images.prepare_for_provider(fh.read())
        name = storage.save(name, ContentFile(prepared.data))
    return name


def _composed_outfit(upper_name: str, lower_name: str) -> str:
    storage = tryon_storage()
    name = files.outfit_name(upper_name, lower_name)
    if not storage.exists(name):
        with storage.open(upper_name, "rb") as up, storage.open(lower_name, "rb") as low:
            composed = images.compose_outfit(up.read(), low.read())
        name = storage.save(name, ContentFile(composed.data))
    return name


def _normalise_person(request: TryOnRequest) -> None:
    """Replace the uploaded bytes by their normalised re-encoding (no metadata survives).

    Two runs of one request's submit can be here at once (inputs are prepared before the
    claim, and a woken request may be queued twice): neither may touch a file the other
    made, and the one that finds the upload gone uses what the other made of it.
    """
    storage = tryon_storage()
    old = request.person_image.name
    try:
        with storage.open(old, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        request.refresh_from_db(fields=["person_image", "person_prepared"])
        if request.person_prepared:
            return  # the other run normalised it and removed the upload
        raise
    prepared = images.prepare_for_provider(data)
    # A name of this run's own. A worker killed right after this save leaves a file no
    # row references, which the purge's sweep removes (files.sweep).
    new = storage.save(_normalised_name(old), ContentFile(prepared.data))
    updated = TryOnRequest.objects.filter(pk=request.pk, person_image=old).update(
        person_image=new, person_prepared=True
    )
    if updated:
        request.person_image.name = new
        request.person_prepared = True
        # Only a retry shares its original's upload; nothing else can still point at it.
        if not request.retry_of_id or not TryOnRequest.objects.filter(person_image=old).exists():
            storage.delete(old)
    else:  # the other run normalised it first; this run's copy is nobody's
        storage.delete(new)
        request.refresh_from_db(fields=["person_image", "person_prepared"])


def _normalised_name(upload_name: str) -> str:
    """Named after the upload (as unguessable), with a part of this run's own."""
    stem = upload_name.rsplit(".", 1)[0]
    return f"{stem}-{secrets.token_hex(4)}-n.jpg"
