"""Every file the app stores has an owner row, and dies with it.

What lives where in the try-on storage, and who owns it:

=================================  ======================================================
``tryon/garments/``                a garment's image (its ``Garment`` row)
``tryon/models/``                  a house model's photo (its ``ModelPhoto`` row)
``tryon/prepared/garment-<d>.jpg`` the provider-ready copy of a garment image whose
``tryon/prepared/model-<d>.jpg``   digest is ``<d>`` (every row with that digest)
``tryon/prepared/outfit-<k>.jpg``  two garments composed into one image (the two rows)
``tryon/persons/``                 a shopper's photo, re-encoded (its request; a retry
                                   shares its original's)
``tryon/results/``                 a result image (its ``TryOnResult``)
=================================  ======================================================

A deleted result or request takes its files with it once the deletion is committed. A
replaced or deleted catalogue image, its provider-ready copies, and anything a crash left
between a save and its row are removed by ``sweep`` (run by the purge task): it lists
these folders and deletes what no row owns, once it is old enough that no save in
progress can still be about to name it.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.db.models.signals import post_delete, post_init, pre_save

from . import images
from .conf import get_setting
from .models import Garment, ModelPhoto, TryOnRequest, TryOnResult, tryon_storage
from .status import ACTIVE, Status

#: Folders the sweep owns; nothing else in the storage is ever listed or deleted.
SWEPT_FOLDERS = (
    "tryon/garments",
    "tryon/models",
    "tryon/prepared",
    "tryon/persons",
    "tryon/results",
)

#: A file younger than this may belong to a save whose row is not committed yet (an
#: upload is stored before its transaction, a result before its row).
SAVE_GRACE = timedelta(hours=1)


def prepared_name(kind: str, digest: str) -> str:
    """Storage name of the provider-ready copy of a garment or model image."""
    return f"tryon/prepared/{kind}-{digest}.jpg"


def outfit_name(upper_name: str, lower_name: str) -> str:
    """Storage name of two prepared garment copies composed into one outfit image."""
    key = hashlib.sha256(f"{upper_name}|{lower_name}".encode()).hexdigest()[:32]
    return f"tryon/prepared/outfit-{key}.jpg"


@dataclass(frozen=True)
class CatalogueImage:
    """A garment or model image as the app stores it: re-encoded from pixels, so the
    camera's metadata (GPS included) is not kept; ``digest`` names its prepared copy."""

    data: bytes
    digest: str


def catalogue_image(data: bytes) -> CatalogueImage:
    clean = images.strip_and_reencode(data).data
    return CatalogueImage(clean, hashlib.sha256(clean).hexdigest())


def attach_image(obj, image: CatalogueImage) -> None:
    """Give a garment or model photo a new image (the row is not saved). The image it
    replaces, and that image's prepared copy, are swept once nothing owns them."""
    obj.image.save("image.jpg", ContentFile(image.data), save=False)
    obj.image_digest = image.digest


def storage_signs_urls(storage) -> bool:
    """True when ``storage.url(name, expire=...)`` really hands out expiring links.

    Taking ``expire`` is not enough: django-storages' S3 backend answers a permanent,
    unsigned URL with a ``custom_domain`` and no CloudFront signer, or with
    ``querystring_auth=False``. A signed link carries its expiry, so two links for
    different lifetimes differ; the answer is kept on the storage object."""
    known = getattr(storage, "_tryon_signs_urls", None)
    if known is not None:
        return known
    signs = False
    if url_takes_expire(storage):
        try:
            probe = "tryon/results/probe.jpg"
            signs = storage.url(probe, expire=600) != storage.url(probe, expire=1200)
        except Exception:
            signs = False
    with contextlib.suppress(AttributeError):  # a storage without a __dict__: ask again
        storage._tryon_signs_urls = signs
    return signs


def url_takes_expire(storage) -> bool:
    """Whether the storage's ``url()`` takes a lifetime (it may still ignore it)."""
    try:
        return "expire" in inspect.signature(storage.url).parameters
    except (TypeError, ValueError):
        return False


def sweep(*, now) -> int:
    """Delete every file in the app's folders that no row owns; returns how many.

    Rows are asked about the listed names a chunk at a time, so a shop with a million
    results never holds a million names in memory."""
    storage = tryon_storage()
    catalogue = _catalogue_names()
    keep_prepared = _prepared_may_be_fetched(now)
    deleted = 0
    for folder in SWEPT_FOLDERS:
        if folder == "tryon/prepared" and keep_prepared:
            continue  # not even listed: nothing in it may go yet
        for chunk in _chunks(_listed(storage, folder), 500):
            owned = catalogue & set(chunk) | _owned_by_shoppers(folder, chunk)
            for name in chunk:
                if name not in owned and _old_enough(storage, name, now):
                    storage.delete(name)
                    deleted += 1
    return deleted


def _catalogue_names() -> set[str]:
    """Garment and model images, and every prepared copy made from them (a catalogue is
    thousands of rows, not millions)."""
    owned: set[str] = set()
    for model, kind in ((Garment, "garment"), (ModelPhoto, "model")):
        for image, digest in model.objects.values_list("image", "image_digest"):
            owned.add(image)
            if digest:
                owned.add(prepared_name(kind, digest))
    pairs = (
        TryOnRequest.objects.filter(lower_garment__isnull=False)
        .values_list("garment__image_digest", "lower_garment__image_digest")
        .distinct()
    )
    for first, second in pairs:
        if first and second:
            one, other = prepared_name("garment", first), prepared_name("garment", second)
            owned.update((outfit_name(one, other), outfit_name(other, one)))
    return owned


def _owned_by_shoppers(folder: str, names: list[str]) -> set[str]:
    if folder == "tryon/persons":
        rows = TryOnRequest.objects.filter(person_image__in=names)
        return set(rows.values_list("person_image", flat=True))
    if folder == "tryon/results":
        return set(TryOnResult.objects.filter(image__in=names).values_list("image", flat=True))
    return set()


def _old_enough(storage, name: str, now) -> bool:
    try:
        return storage.get_modified_time(name) <= now - SAVE_GRACE
    except (NotImplementedError, OSError):
        return False  # a storage that cannot tell is never swept blind


def _chunks(names: list[str], size: int):
    for start in range(0, len(names), size):
        yield names[start : start + size]


def _prepared_may_be_fetched(now) -> bool:
    """True while a live input URL may still name a copy no row owns any more: a try-on
    sent within the URLs' lifetime whose garment or model image changed after it was
    sent (the provider may not have fetched the old copy yet)."""
    since = now - timedelta(seconds=get_setting("INPUT_URL_MAX_AGE_SECONDS"))
    # Its URLs were signed just before it was sent (a submitting row's updated_at), a
    # little before submitted_at is recorded: the create call is in between.
    sent = F("sent_at") - timedelta(minutes=5)
    changed = (
        Q(garment__updated_at__gte=sent)
        | Q(lower_garment__updated_at__gte=sent)
        | Q(model_photo__updated_at__gte=sent)
    )
    return (
        TryOnRequest.objects.filter(status__in=ACTIVE)
        .exclude(status=Status.PENDING)  # signs its URLs later, with the new digest
        .annotate(sent_at=Coalesce("submitted_at", "updated_at"))
        .filter(sent_at__gte=since)
        .filter(changed)
        .exists()
    )


def _listed(storage, folder: str) -> list[str]:
    """Every file under ``folder``, sub-folders included."""
    names: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            dirs, found = storage.listdir(current)
        except (FileNotFoundError, NotADirectoryError):
            continue
        names.extend(f"{current}/{name}" for name in found)
        pending.extend(f"{current}/{name}" for name in dirs)
    return names


# -- a row's files go with it ------------------------------------------------------------


def _delete_when_committed(name: str, still_used) -> None:
    def delete():
        if not still_used():
            tryon_storage().delete(name)

    transaction.on_commit(delete)


def _result_deleted(sender, instance: TryOnResult, **kwargs) -> None:
    if instance.image.name:
        name = instance.image.name
        _delete_when_committed(name, TryOnResult.objects.filter(image=name).exists)


def _request_deleted(sender, instance: TryOnRequest, **kwargs) -> None:
    if instance.person_image.name:
        name = instance.person_image.name
        _delete_when_committed(name, TryOnRequest.objects.filter(person_image=name).exists)


# -- a replaced catalogue image gets a new digest ----------------------------------------


def _remember_image(sender, instance, **kwargs) -> None:
    # The raw column value (a name), read without building a FieldFile.
    value = instance.__dict__.get("image")
    instance._tryon_loaded = (getattr(value, "name", value), instance.__dict__.get("image_digest"))


def _image_replaced(sender, instance, raw=False, **kwargs) -> None:
    """Shop code that assigns a new image keeps the old digest, which names the old
    provider-ready copy: the old garment would be sent. Forget it so it is recomputed."""
    if raw or instance._state.adding:
        return
    loaded_name, loaded_digest = getattr(instance, "_tryon_loaded", (None, None))
    if instance.image.name != loaded_name and instance.image_digest == loaded_digest:
        instance.image_digest = ""


def connect() -> None:
    """Called from the app's ready(); uid-keyed, so connecting twice is harmless."""
    post_delete.connect(_result_deleted, sender=TryOnResult, dispatch_uid="tryon-result-files")
    post_delete.connect(_request_deleted, sender=TryOnRequest, dispatch_uid="tryon-person-file")
    for model in (Garment, ModelPhoto):
        label = model._meta.model_name
        post_init.connect(_remember_image, sender=model, dispatch_uid=f"tryon-{label}-loaded")
        pre_save.connect(_image_replaced, sender=model, dispatch_uid=f"tryon-{label}-digest")


__all__ = [
    "SWEPT_FOLDERS",
    "CatalogueImage",
    "attach_image",
    "catalogue_image",
    "connect",
    "outfit_name",
    "prepared_name",
    "storage_signs_urls",
    "sweep",
    "url_takes_expire",
]
