"""The outfit rule: which garments may be tried on together, refused before paying."""

from __future__ import annotations

import pytest

from django_tryon.images import ImageError
from django_tryon.pipeline.validation import check_outfit

OK_PAIRS = {("upper", None), ("lower", None), ("dress", None), ("upper", "lower")}
OK_PAIRS |= {("lower", "upper")}


def _code(excinfo) -> str:
    return excinfo.value.code


@pytest.mark.parametrize("first", ["upper", "lower", "dress"])
@pytest.mark.parametrize("second", ["upper", "lower", "dress", None])
def test_check_outfit_matrix(first, second):
    if (first, second) in OK_PAIRS:
        assert check_outfit(first, second) is None
        return
    with pytest.raises(ImageError) as excinfo:
        check_outfit(first, second)
    assert _code(excinfo) == "invalid_outfit"
    message = excinfo.value.message
    if "dress" in (first, second):
        assert "dress" in message.lower()
    elif first == "upper":
        assert "two tops cannot be tried on together" in message
    else:
        assert "two bottoms cannot be tried on together" in message


def test_check_outfit_unknown_category():
    with pytest.raises(ImageError) as excinfo:
        check_outfit("scarf", None)
    assert _code(excinfo) == "invalid_outfit"
