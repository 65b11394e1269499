"""The OpenAPI schema matches the API exactly: Schemathesis fuzzes the example shop's live
server from its own schema (no 500s, every response conforms), for an anonymous shopper
and for a token client."""

from __future__ import annotations

import functools
import re
import time

import pytest
import requests
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from django_tryon.models import TryOnRequest
from tests.api.conftest import API

#: Examples per operation and generation mode: bounded so the whole run stays near a minute.
MAX_EXAMPLES = 25


@pytest.mark.django_db
def test_schema_lists_exactly_the_api(client):
    response = client.get(API + "schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/tryon/api/requests/",
        "/tryon/api/requests/{id}/",
        "/tryon/api/requests/{id}/cancel/",
        "/tryon/api/requests/erase/",
        "/tryon/api/garments/",
        "/tryon/api/garments/{id}/",
        "/tryon/api/model-photos/",
        "/tryon/api/model-photos/{id}/",
        "/tryon/api/quota/",
        "/tryon/api/funnel/",
    }
    create = schema["paths"]["/tryon/api/requests/"]["post"]
    assert set(create["responses"]) == {"200", "202", "400", "401", "403", "409", "429", "503"}
    assert create["responses"]["202"]["headers"]["Location"]["required"] is True
    body = create["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][body.rsplit("/", 1)[-1]]["properties"]
    assert fields["person_image"] == {
        "type": "string",
        "format": "binary",
        "description": fields["person_image"]["description"],
    }
    status = schema["components"]["schemas"]["TryOnStatus"]["enum"]
    assert status == [
        "pending",
        "submitting",
        "submitted",
        "processing",
        "succeeded",
        "failed",
        "cancelled",
    ]
    # Anonymous shoppers are welcome (an empty security requirement), tokens and cookies too.
    assert {} in create["security"] and {"tokenAuth": []} in create["security"]


@pytest.mark.django_db
def test_schema_does_not_depend_on_the_shops_default_schema_class(client, settings):
    settings.REST_FRAMEWORK = {
        **getattr(settings, "REST_FRAMEWORK", {}),
        "DEFAULT_SCHEMA_CLASS": "rest_framework.schemas.openapi.AutoSchema",
    }
    first = client.get(API + "schema/", {"format": "json"}).json()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    }
    assert client.get(API + "schema/", {"format": "json"}).json() == first


@pytest.mark.django_db
def test_schema_follows_the_settings(client, settings):
    with override_settings(TRYON={**settings.TRYON, "API_ALLOW_ANONYMOUS": False}):
        schema = client.get(API + "schema/", {"format": "json"}).json()
    assert {} not in schema["paths"]["/tryon/api/requests/"]["post"]["security"]
    assert {} in schema["paths"]["/tryon/api/garments/"]["get"]["security"]


@pytest.mark.django_db
def test_docs_page(client):
    response = client.get(API + "docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swagger-ui"' in html and "/tryon/api/schema/?format=json" in html
    # Swagger UI from the shop's own static files: no third-party host, no inline script.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), html
    assert "<script>" not in html


@pytest.mark.django_db
def test_docs_page_without_the_sidecar_says_what_to_add(client, settings):
    from django.core.checks import run_checks

    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "drf_spectacular_sidecar"]
    html = client.get(API + "docs/").content.decode()
    assert "drf_spectacular_sidecar" in html and "<script" not in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert [m.id for m in run_checks() if m.id == "django_tryon.W011"] == ["django_tryon.W011"]


# -- Schemathesis against the live example shop -------------------------------------------


@pytest.fixture
def seeded(make_garment, make_model_photo, django_user_model, tryon_settings):
    """Catalogue data, a token user, and limits out of the way of the fuzzing."""
    tryon_settings(
        API_CREATE_RATE=None,
        API_READ_RATE=None,
        SHOPPER_DAILY_GENERATION_LIMIT=None,
        HOUSE_MODELS_FOR_SHOPPERS=True,
    )
    model = make_model_photo("Ana")
    model.offer_to_shoppers = True
    model.save()
    user = django_user_model.objects.create_user("fuzzer")
    return {
        "token": Token.objects.create(user=user).key,
        "garment": str(make_garment("upper", sku="SHIRT-1").pk),
        "lower_garment": str(make_garment("lower", name="Jeans").pk),
        "model_photo": str(model.pk),
    }


def fuzz(strategy, validate):
    """Run ``validate`` on examples drawn from ``strategy``: bounded and reproducible."""

    @given(case=strategy)
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        validate(case)

    check()


def _call_and_validate(case, *, session, headers, excluded):
    case.call_and_validate(session=session, headers=headers, excluded_checks=excluded, timeout=30)


def with_real_ids(ids):
    """Point a generated create at garments and house models that exist, so positive
    examples reach the create itself (202 and the Location header), not only 400s.

    A case that names a house model is made fully valid (no photo, default provider and
    batch size); the others keep their generated values and mostly get a 400.
    """

    def patch(case):
        body = case.body
        if isinstance(body, dict):
            for field in ("garment", "lower_garment", "model_photo"):
                if field in body:
                    body[field] = ids[field]
            if "model_photo" in body:
                for field in ("person_image", "provider", "batch_size"):
                    body.pop(field, None)
        return case

    return patch


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(300)
@pytest.mark.parametrize("caller", ["anonymous", "token"])
def test_schemathesis_finds_no_server_error_and_no_mismatch(
    live_server, seeded, sent, caller, settings
):
    settings.TRYON = {**settings.TRYON, "FUNNEL": True}  # its endpoint answers, not 404s
    schema = schemathesis.openapi.from_url(f"{live_server.url}{API}schema/?format=json", timeout=30)
    session = requests.Session()
    session.trust_env = False  # only 127.0.0.1, never a proxy
    headers = {}
    if caller == "token":
        headers["Authorization"] = f"Token {seeded['token']}"
    else:
        session.get(f"{live_server.url}{API}quota/", timeout=30)
        headers["X-CSRFToken"] = session.cookies["csrftoken"]

    from django.db.models.signals import post_save

    made = []  # counted as they are created: erase/ may delete them again later in the run

    def count_creates(sender, instance, created, **kwargs):
        if created:
            made.append(instance.pk)

    post_save.connect(count_creates, sender=TryOnRequest, weak=False)
    failures, operations, started = [], 0, time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        creates = operation.label in (f"POST {API}requests/", f"POST {API}funnel/")
        # A schema cannot say "this garment id must exist", "consent is required with a
        # photo" or "name your own finished try-on", so schema-valid creates and funnel
        # steps may be refused with a 400: for those the positive-data-acceptance check
        # does not apply. Every conformance check does.
        excluded = [positive_data_acceptance] if creates else []
        validate = functools.partial(
            _call_and_validate, session=session, headers=headers, excluded=excluded
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            if creates and mode == GenerationMode.POSITIVE:
                strategy = strategy.map(with_real_ids(seeded))

            try:
                fuzz(strategy, validate)
            except Unsatisfiable:
                # No parameters or body to break (GET quota/): no negative examples exist.
                assert mode == GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    elapsed = time.monotonic() - started
    post_save.disconnect(count_creates, sender=TryOnRequest)
    assert operations == 11
    assert not failures, "\n\n".join(failures)
    assert elapsed < 150, f"the Schemathesis run took {elapsed:.0f}s"
    if caller == "token":
        # Positive examples did create try-ons, so the 202 path was checked too.
        assert made
