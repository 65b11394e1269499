"""The sandbox's simulated result: each garment where it is worn, the stamp readable whole
in a before/after view opened at 50/50."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from django_tryon.images.outfits import compose_outfit
from django_tryon.sandbox.images import garment_kind, render_tryon
from kit import imagegen


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def changed_rows(person: bytes, result: bytes) -> tuple[float, float]:
    """The top and bottom of what the garment changed, as fractions of the height
    (the stamp's band at the bottom left out)."""
    before, after = _open(person), _open(result)
    before = before.resize(after.size)
    diff = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v > 60 else 0)
    band = max(24, after.height // 12)
    box = diff.crop((0, 0, after.width, after.height - band)).getbbox()
    assert box is not None
    return box[1] / after.height, box[3] / after.height


@pytest.mark.parametrize("kind", ["upper", "lower", "dress"])
def test_kling_garments_are_told_apart_from_their_image(kind):
    assert garment_kind(_open(imagegen.make_garment(kind))) == kind


def test_a_composed_outfit_is_one_image_of_two_garments(settings):
    outfit = compose_outfit(imagegen.make_garment("upper"), imagegen.make_garment("lower"))
    assert garment_kind(_open(outfit.data)) == "outfit"


def test_jeans_on_kling_go_on_the_legs_not_the_chest():
    """Kling's request does not say the category: every garment was laid on the torso."""
    person = imagegen.make_person()
    top, bottom = changed_rows(
        person, render_tryon(person, [("garment", imagegen.make_garment("lower"))])
    )
    assert top >= 0.45 and bottom >= 0.85  # from the waist down
    top, bottom = changed_rows(
        person, render_tryon(person, [("garment", imagegen.make_garment("upper"))])
    )
    assert top <= 0.25 and bottom <= 0.6  # the torso


def test_piapi_garments_go_where_their_field_says():
    person = imagegen.make_person()
    top, _ = changed_rows(person, render_tryon(person, [("lower", imagegen.make_garment("lower"))]))
    assert top >= 0.45


def test_the_simulated_stamp_fits_in_the_right_half():
    """A before/after view opened at 50/50 cut it to "ED TRY-ON"."""
    result = _open(render_tryon(imagegen.make_person(), [("garment", imagegen.make_garment())]))
    band = max(24, result.height // 12)
    strip = result.crop((0, result.height - band, result.width, result.height))
    white = strip.convert("L").point(lambda v: 255 if v > 200 else 0)
    left, _, right, _ = white.getbbox()
    assert left > result.width / 2 and right < result.width
