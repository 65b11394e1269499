"""The app on S3 (django-storages against a local moto server): files in, files out, signed URLs.

Only 127.0.0.1 is ever contacted: moto runs in server mode on a loopback port inside the
test session, boto3 gets dummy credentials and no way to AWS (see tests/integration/s3.py).
"""

from __future__ import annotations

import io
import os
import re
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings
from django.utils import timezone
from PIL import Image

try:
    import boto3  # noqa: F401
    import moto.server  # noqa: F401
    import storages.backends.s3  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    if os.environ.get("CI", "").lower() == "true":
        raise ImportError(f"S3 storage tests need moto[server] and django-storages: {exc}") from exc
    pytest.skip(
        f"S3 storage tests need moto[server], boto3 and django-storages ({exc}); "
        "install the 'test' extra to run them",
        allow_module_level=True,
    )

from django_tryon import services
from django_tryon.callers import Caller
from django_tryon.conf import get_setting
from django_tryon.models import TryOnResult, tryon_storage
from django_tryon.pipeline import results as results_module
from django_tryon.providers import PROVIDER_CLASSES, get_provider
from django_tryon.status import Status
from kit import imagegen
from tests.integration.conftest import Worker, wait_for_status
from tests.integration.s3 import (
    LocalS3,
    apply_safe_aws_env,
    reset_tryon_storage,
    storage_env,
)
from tests.settings import s3_test_storage

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PIPELINE_BUCKET = "tryon-pipeline"
# tryon/results/YYYY/MM/<token_urlsafe(24)>.<ext>: 32 random URL-safe characters.
RESULT_NAME = re.compile(r"^tryon/results/(\d{4})/(\d{2})/[A-Za-z0-9_-]{32}\.(png|jpg)$")


@pytest.fixture(scope="module")
def local_s3():
    """A moto S3 server on 127.0.0.1 for this module, with boto3 made local-only."""
    with pytest.MonkeyPatch.context() as mp:
        apply_safe_aws_env(mp)
        s3 = LocalS3().start()
        try:
            yield s3
        finally:
            s3.stop()


@pytest.fixture
def use_s3(local_s3):
    """Point TRYON['STORAGE'] at a fresh bucket in this process; yields the bucket name."""
    from django.conf import settings

    bucket = local_s3.create_bucket(f"tryon-unit-{uuid.uuid4().hex[:12]}")
    stores = {**settings.STORAGES, "tryon_s3": s3_test_storage(local_s3.endpoint, bucket)}
    with override_settings(STORAGES=stores, TRYON={**settings.TRYON, "STORAGE": "tryon_s3"}):
        reset_tryon_storage()
        try:
            yield bucket
        finally:
            reset_tryon_storage()
    reset_tryon_storage()


# -- services on S3, no worker ------------------------------------------------------------


@pytest.fixture
def fake(use_s3, settings, monkeypatch):
    monkeypatch.setitem(PROVIDER_CLASSES, "fake", "tests.fakes.FakeProvider")
    settings.TRYON = {**settings.TRYON, "PROVIDERS": {**settings.TRYON["PROVIDERS"], "fake": {}}}
    return get_provider("fake")


@pytest.fixture
def downloads(monkeypatch):
    def fake_download(url, *, allowed_hosts, **kwargs):
        return imagegen.make_png(640, 800)

    monkeypatch.setattr(results_module, "download", fake_download)


def test_storage_under_test_is_s3_on_loopback(use_s3, local_s3):
    from storages.backends.s3 import S3Storage

    storage = tryon_storage()
    assert isinstance(storage, S3Storage)
    assert storage.bucket_name == use_s3
    assert urlsplit(storage.endpoint_url).hostname == "127.0.0.1"
    assert local_s3.keys(use_s3) == []


@pytest.mark.django_db
def test_services_flow_keeps_every_file_in_the_bucket(
    use_s3, local_s3, fake, sent, downloads, make_garment
):
    bucket = use_s3
    garment = make_garment("upper")
    assert local_s3.keys(bucket, "tryon/garments/") == [garment.image.name]

    # create: the photo lands in the bucket under tryon/persons/ with a random name,
    # without its metadata: the uploaded bytes (GPS and all) never reach the bucket
    upload = imagegen.make_jpeg(768, 1024, with_gps=True)
    request, created = services.create_tryon(
        garment=garment,
        person_image=upload,
        provider="fake",
        caller=Caller(source="api", consented=True),
    )
    assert created
    original = request.person_image.name
    assert re.fullmatch(r"tryon/persons/[A-Za-z0-9_-]{32}\.jpg", original)
    assert local_s3.keys(bucket, "tryon/persons/") == [original]
    assert not Image.open(io.BytesIO(local_s3.read(bucket, original))).getexif()

    # submit: the re-encoded, provider-ready copy replaces it in the bucket
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and request.person_prepared
    prepared = request.person_image.name
    assert prepared != original and prepared.startswith("tryon/persons/")
    assert local_s3.keys(bucket, "tryon/persons/") == [prepared]
    clean = Image.open(io.BytesIO(local_s3.read(bucket, prepared)))
    assert clean.format == "JPEG" and not clean.getexif()
    prepared_garment = local_s3.keys(bucket, "tryon/prepared/")
    assert len(prepared_garment) == 1
    assert len(fake.calls_of("submit")) == 1

    # refresh with success: results downloaded and stored under tryon/results/YYYY/MM/
    fake.finish(request.provider_task_id, ["https://fake.example/a.png", "https://f.example/b"])
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED
    results = list(request.results.order_by("index"))
    assert [r.index for r in results] == [0, 1]
    now = timezone.now()
    stored = local_s3.keys(bucket, "tryon/results/")
    assert stored == sorted(r.image.name for r in results)
    for result in results:
        match = RESULT_NAME.fullmatch(result.image.name)
        assert match, result.image.name
        assert (match[1], match[2]) == (f"{now:%Y}", f"{now:%m}")
        image = Image.open(io.BytesIO(local_s3.read(bucket, result.image.name)))
        image.load()
        assert (image.width, image.height) == (result.width, result.height) == (640, 800)
    assert results[0].image.name != results[1].image.name

    # purge after retention: the person photo and the results leave the bucket
    later = now + timedelta(
        days=(get_setting("RESULT_RETENTION_DAYS") or 0) + 1,
        hours=get_setting("PERSON_PHOTO_RETENTION_HOURS") + 1,
    )
    report = services.purge(now=later)
    assert (report.person_photos, report.results) == (1, 2)
    assert local_s3.keys(bucket, "tryon/persons/") == []
    assert local_s3.keys(bucket, "tryon/results/") == []
    assert not TryOnResult.objects.exists()
    # Only the shop's own garment and its prepared copy remain.
    assert sorted(local_s3.keys(bucket)) == sorted([garment.image.name, *prepared_garment])


@pytest.mark.django_db
def test_result_url_is_signed_and_expiring(use_s3, local_s3, fake, sent, downloads, make_garment):
    import httpx

    request, _ = services.create_tryon(
        garment=make_garment(),
        person_image=imagegen.make_person(),
        provider="fake",
        caller=Caller(source="api", consented=True),
    )
    services.submit(request.pk)
    request.refresh_from_db()
    fake.finish(request.provider_task_id, ["https://fake.example/a.png"])
    services.refresh(request.pk)
    result = TryOnResult.objects.get(request=request)

    url = result.image.url
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == local_s3.endpoint
    assert parts.path == f"/{use_s3}/{result.image.name}"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Signature"][0] and query["X-Amz-Credential"][0].startswith("testing/")
    assert query["X-Amz-Expires"] == ["600"]

    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.content == local_s3.read(use_s3, result.image.name)


# -- a real worker on S3 ------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_worker(local_s3, worker_pool, tmp_path_factory):
    """A dedicated Celery worker whose settings select the S3 alias (through its env).

    The shared session worker is stopped first: its beat-driven reaper scans the whole
    database and would otherwise refresh these requests with the filesystem storage.
    The pool starts a fresh one for the next test that asks for ``worker``.
    """
    local_s3.create_bucket(PIPELINE_BUCKET)
    worker_pool.stop_all()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in storage_env(local_s3.endpoint, PIPELINE_BUCKET).items():
            mp.setenv(name, value)
        worker = Worker(worker_pool.db_name, tmp_path_factory.mktemp("s3-worker-logs"))
        worker.start()
    # The variables are gone again: a later pool worker uses the default storage.
    assert "TRYON_TEST_STORAGE" not in os.environ
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def s3_pipeline(transactional_db, live_server, sandbox, s3_worker, local_s3):
    """The pipeline fixture, with this process on the same bucket as the S3 worker."""
    from django.conf import settings

    stores = {**settings.STORAGES, "tryon_s3": s3_test_storage(local_s3.endpoint, PIPELINE_BUCKET)}
    with override_settings(STORAGES=stores, TRYON={**settings.TRYON, "STORAGE": "tryon_s3"}):
        reset_tryon_storage()
        try:
            yield {"live_server": live_server, "sandbox": sandbox, "worker": s3_worker}
        finally:
            reset_tryon_storage()
    reset_tryon_storage()


def test_worker_stores_kling_results_in_s3(s3_pipeline, local_s3, make_garment):
    worker = s3_pipeline["worker"]
    request, created = services.create_tryon(
        garment=make_garment("upper"),
        person_image=imagegen.make_person(),
        provider="kling",
        caller=Caller(source="api", consented=True),
    )
    assert created
    wait_for_status(request, Status.SUCCEEDED, timeout=60, worker=worker)

    result = request.results.get()
    assert RESULT_NAME.fullmatch(result.image.name), result.image.name
    assert result.image.name in local_s3.keys(PIPELINE_BUCKET, "tryon/results/")
    image = Image.open(io.BytesIO(local_s3.read(PIPELINE_BUCKET, result.image.name)))
    image.load()
    assert (image.width, image.height) == (result.width, result.height)
    # The worker re-encoded the person photo in the bucket too, and wrote nothing locally.
    request.refresh_from_db()
    assert request.person_prepared
    assert local_s3.keys(PIPELINE_BUCKET, "tryon/persons/") == [request.person_image.name]
    from django.conf import settings

    media = Path(settings.MEDIA_ROOT)
    assert not (media / result.image.name).exists()
    assert not (media / request.person_image.name).exists()
