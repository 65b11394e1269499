"""Shoes end to end: routed to the provider that takes them (FASHN's tryon-max, a
product image) with a real prefork worker and the sandbox; refused before anything is
paid when no configured provider takes them."""

from __future__ import annotations

import pytest

from django_tryon.errors import TryOnValidationError
from django_tryon.status import Status
from tests.integration.conftest import wait_for_status
from tests.integration.test_pipeline import assert_results_stored, creates, start

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_a_shoe_goes_to_the_provider_that_takes_shoes(pipeline, make_garment, settings):
    settings.TRYON = {**settings.TRYON, "ROUTING": {"default": ["kling", "fashn"]}}
    sandbox = pipeline["sandbox"]
    request = start(make_garment, None, garment=make_garment("shoes"))
    assert request.provider == "fashn"
    wait_for_status(request, Status.SUCCEEDED, worker=pipeline["worker"])
    assert_results_stored(request)
    [run] = creates(sandbox, "fashn")
    assert run.json["model_name"] == "tryon-max"
    assert set(run.json["inputs"]) == {"model_image", "product_image"}
    assert creates(sandbox, "kling") == []
    assert str(request.cost) == "4.0000" and request.cost_currency == "credits"


def test_a_shoe_no_provider_takes_is_refused_before_paying(pipeline, make_garment, settings):
    providers = dict(settings.TRYON["PROVIDERS"])
    providers["fashn"] = {**providers["fashn"], "ACCESSORIES": False}
    settings.TRYON = {**settings.TRYON, "PROVIDERS": providers}
    with pytest.raises(TryOnValidationError, match="can try on shoes"):
        start(make_garment, None, garment=make_garment("shoes"))
    assert pipeline["sandbox"].requests == []
