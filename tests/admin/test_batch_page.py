"""The batch page: progress JSON, estimated time left, results grid, retry failed, publish."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from django_tryon.admin.batches import _eta_seconds, batch_progress
from django_tryon.models import TryOnRequest, TryOnResult
from django_tryon.status import Status
from tests.admin.pages import assert_app_page

pytestmark = pytest.mark.django_db


def page(batch):
    return f"/admin/django_tryon/tryonbatch/{batch.pk}/change/"


def progress(batch):
    return f"/admin/django_tryon/tryonbatch/{batch.pk}/progress/"


@pytest.fixture
def running_batch(make_batch, make_request, catalogue):
    """Six catalogue try-ons: two succeeded (one result each), one failed, three running."""
    batch = make_batch()
    rows = {}
    plan = [
        ("shirt", "alex", Status.SUCCEEDED),
        ("shirt", "sam", Status.SUCCEEDED),
        ("tee", "alex", Status.FAILED),
        ("tee", "sam", Status.PROCESSING),
        ("jeans", "alex", Status.SUBMITTED),
        ("jeans", "sam", Status.PENDING),
    ]
    for garment, photo, status in plan:
        rows[(garment, photo)] = make_request(
            getattr(catalogue, garment),
            model_photo=getattr(catalogue, photo),
            status=status,
            batch=batch,
            results=1 if status == Status.SUCCEEDED else 0,
            error_code="content_refused" if status == Status.FAILED else "",
        )
    batch.rows = rows
    return batch


# -- the page ----------------------------------------------------------------------------


def test_batch_page_shows_progress_counts_and_results(merch_client, running_batch):
    response = merch_client.get(page(running_batch))

    assert response.status_code == 200
    html = response.content.decode()
    assert_app_page(html, "tryon-batch-page", "/admin/django_tryon/tryonbatch/")
    assert 'role="progressbar"' in html and 'aria-valuenow="50"' in html
    assert 'data-part="done">3<' in html and 'data-part="total">6<' in html
    assert 'data-count="succeeded">2<' in html and 'data-count="running">2<' in html
    assert 'data-count="waiting">1<' in html and 'data-count="failed">1<' in html
    grid = html.split('id="tryon-result-card"')[0]  # without the card template for new ones
    assert grid.count('class="tryon-grid-item') == 2
    assert grid.count('name="result" value="') == 2
    assert "Retry the failed try-ons" in html
    assert "Red T-shirt · Alex" in html
    assert "refused the images under its content policy" in html
    assert "django_tryon/admin/batch.js" in html
    assert f'data-progress-url="{progress(running_batch)}"' in html


def test_progress_json(merch_client, running_batch):
    response = merch_client.get(progress(running_batch))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert (data["total"], data["done"], data["percent"], data["finished"]) == (6, 3, 50, False)
    assert data["counts"] == {
        "pending": 1,
        "submitting": 0,
        "submitted": 1,
        "processing": 1,
        "succeeded": 2,
        "failed": 1,
        "cancelled": 0,
    }
    assert [(g["key"], g["count"]) for g in data["groups"]] == [
        ("waiting", 1),
        ("running", 2),
        ("succeeded", 2),
        ("failed", 1),
        ("cancelled", 0),
    ]
    assert len(data["results"]) == 2
    result = data["results"][0]
    assert set(result) == {"id", "url", "garment", "model", "approved", "publishable", "admin_url"}
    assert result["publishable"] is True and result["approved"] is False
    assert data["failures"][0]["garment"] == "Red T-shirt"
    assert data["failed_total"] == 1


def test_progress_json_sends_only_new_results(merch_client, running_batch):
    data = merch_client.get(progress(running_batch), {"results_from": 1}).json()
    assert data["results_from"] == 1 and len(data["results"]) == 1
    assert merch_client.get(progress(running_batch), {"results_from": 2}).json()["results"] == []
    assert (
        len(merch_client.get(progress(running_batch), {"results_from": "x"}).json()["results"]) == 2
    )


def test_finished_batch_is_at_100_percent(merch_client, make_batch, make_request, catalogue):
    batch = make_batch()
    for photo in (catalogue.alex, catalogue.sam):
        make_request(catalogue.shirt, model_photo=photo, status=Status.SUCCEEDED, batch=batch)
    data = merch_client.get(progress(batch)).json()
    assert (data["percent"], data["finished"], data["eta_seconds"]) == (100, True, 0)
    html = merch_client.get(page(batch)).content.decode()
    assert 'aria-valuenow="100"' in html and 'data-finished="true"' in html


def test_time_left_comes_from_the_pace_of_this_run():
    now = timezone.now()
    start = now - timedelta(seconds=30)
    rows = [
        (Status.SUCCEEDED, start, start + timedelta(seconds=10)),
        (Status.SUCCEEDED, start, start + timedelta(seconds=20)),
        (Status.FAILED, start, start + timedelta(seconds=25)),
        (Status.PROCESSING, start, None),
        (Status.PENDING, start, None),
        (Status.PENDING, start, None),
    ]
    # 3 finished in 30 s: 3 more take about 30 s.
    assert _eta_seconds(rows, now) == 30
    # Nothing finished yet: no pace to go by.
    assert _eta_seconds([(Status.PENDING, start, None)], now) is None
    # An old success does not count for a retry started later.
    retry_start = now - timedelta(seconds=5)
    old = [
        (Status.SUCCEEDED, start - timedelta(hours=1), start),
        (Status.PENDING, retry_start, None),
    ]
    assert _eta_seconds(old, now) is None
    assert _eta_seconds([(Status.SUCCEEDED, start, now)], now) == 0


def test_a_retried_request_is_counted_once(running_batch, merchandiser):
    failed = running_batch.rows[("tee", "alex")]
    TryOnRequest.objects.create(
        garment=failed.garment,
        model_photo=failed.model_photo,
        batch=running_batch,
        retry_of=failed,
        source=failed.source,
        provider="kling",
        input_digest=uuid.uuid4().hex,
    )
    data = batch_progress(running_batch)
    assert data["total"] == 6 and data["counts"]["failed"] == 0 and data["counts"]["pending"] == 2


# -- retry failed -----------------------------------------------------------------------------


def test_retry_failed_retries_each_failure_once(
    merch_client, running_batch, sent, django_capture_on_commit_callbacks
):
    url = f"/admin/django_tryon/tryonbatch/{running_batch.pk}/retry-failed/"
    with django_capture_on_commit_callbacks(execute=True):
        response = merch_client.post(url)
    assert response.status_code == 302 and response["Location"] == page(running_batch)
    failed = running_batch.rows[("tee", "alex")]
    (retry,) = TryOnRequest.objects.filter(retry_of=failed)
    assert retry.batch_id == running_batch.pk and retry.status == Status.PENDING
    assert sent == [("django_tryon.submit", str(retry.pk))]

    # A second click finds nothing left to retry.
    again = merch_client.post(url)
    assert TryOnRequest.objects.filter(retry_of=failed).count() == 1
    assert "Nothing to retry" in [m.message for m in get_messages(again.wsgi_request)][-1]


def test_retry_failed_needs_post_and_the_bulk_permission(viewer_client, running_batch, sent):
    url = f"/admin/django_tryon/tryonbatch/{running_batch.pk}/retry-failed/"
    assert viewer_client.get(url).status_code == 405
    assert viewer_client.post(url).status_code == 403
    assert not TryOnRequest.objects.filter(retry_of__isnull=False).exists()
    assert "Retry the failed try-ons" not in viewer_client.get(page(running_batch)).content.decode()


# -- approve from the grid ---------------------------------------------------------------------


def test_approve_two_results_from_the_grid(merch_client, merchandiser, running_batch):
    ids = [str(pk) for pk in TryOnResult.objects.values_list("pk", flat=True)]
    url = f"/admin/django_tryon/tryonbatch/{running_batch.pk}/publish/"

    response = merch_client.post(url, {"result": ids, "do": "approve"})

    assert response.status_code == 302
    results = TryOnResult.objects.all()
    assert all(r.approved and r.approved_by == merchandiser and r.approved_at for r in results)
    html = merch_client.get(page(running_batch)).content.decode()
    assert html.count("tryon-grid-item is-approved") == 2

    merch_client.post(url, {"result": ids[:1], "do": "withdraw"})
    assert TryOnResult.objects.filter(approved=True).count() == 1


def test_approving_ignores_results_of_other_batches_and_bad_ids(
    merch_client, running_batch, make_batch, make_request, catalogue
):
    other = make_request(
        catalogue.dress,
        model_photo=catalogue.alex,
        status=Status.SUCCEEDED,
        batch=make_batch(),
        results=1,
    )
    url = f"/admin/django_tryon/tryonbatch/{running_batch.pk}/publish/"
    merch_client.post(url, {"result": [str(other.results.get().pk), "not-a-uuid"]})
    assert not TryOnResult.objects.filter(approved=True).exists()


def test_publishing_needs_its_permission(viewer_client, running_batch):
    ids = [str(pk) for pk in TryOnResult.objects.values_list("pk", flat=True)]
    url = f"/admin/django_tryon/tryonbatch/{running_batch.pk}/publish/"
    assert viewer_client.post(url, {"result": ids}).status_code == 403
    assert not TryOnResult.objects.filter(approved=True).exists()
    html = viewer_client.get(page(running_batch)).content.decode()
    assert 'type="checkbox" name="result"' not in html and "Approve selected" not in html


# -- access --------------------------------------------------------------------------------


def test_batch_pages_need_staff_and_a_permission(
    client, django_user_model, running_batch, viewer_client
):
    assert viewer_client.get(progress(running_batch)).status_code == 200

    client.logout()
    for url in (page(running_batch), progress(running_batch)):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]

    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    assert client.get(progress(running_batch)).status_code == 403
    assert client.get(page(running_batch)).status_code == 403


def test_the_bulk_permission_alone_shows_the_batch(client, django_user_model, running_batch):
    from tests.admin.conftest import make_staff

    client.force_login(make_staff(django_user_model, "runner", ["run_bulk_tryon"]))
    assert client.get(page(running_batch)).status_code == 200
    assert client.get(progress(running_batch)).status_code == 200


def test_unknown_batch_is_404(merch_client):
    url = "/admin/django_tryon/tryonbatch/00000000-0000-0000-0000-000000000000/progress/"
    assert merch_client.get(url).status_code == 404


def test_batch_list_shows_progress(merch_client, running_batch):
    response = merch_client.get("/admin/django_tryon/tryonbatch/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-valuenow="50"' in html and "3 / 6" in html
    assert "/admin/django_tryon/tryonrequest/cost/" in html
    # Batches are made by the bulk action, never by hand.
    assert merch_client.get("/admin/django_tryon/tryonbatch/add/").status_code == 403
