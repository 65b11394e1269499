"""Try-on requests and results in the admin: lists, filters, actions, details, privacy."""

from __future__ import annotations

import calendar
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from django_tryon import catalogue as publishing
from django_tryon import links
from django_tryon.models import Source, TryOnRequest, TryOnResult
from django_tryon.pipeline import recovery
from django_tryon.providers import get_provider
from django_tryon.status import Status
from tests.admin.pages import assert_app_page

pytestmark = pytest.mark.django_db

REQUESTS = "/admin/django_tryon/tryonrequest/"
RESULTS = "/admin/django_tryon/tryonresult/"


def shows(html: str, result: TryOnResult) -> bool:
    """Whether ``html`` shows ``result``: through the app's expiring result link, never the
    stored file's permanent URL (which must not appear at all)."""

    assert result.image.url not in html
    signed = re.findall(r"/tryon/results/([^/\"]+)/", html)
    return any(getattr(links.result_from_signed(v), "pk", None) == result.pk for v in signed)


def messages_of(response):
    return [m.message for m in get_messages(response.wsgi_request)]


@pytest.fixture
def shopper_request(make_request, catalogue):
    """A shopper's succeeded try-on: their own photo and a result that shows them."""
    return make_request(catalogue.shirt, status=Status.SUCCEEDED, results=1, source=Source.WIDGET)


@pytest.fixture
def catalogue_request(make_request, make_batch, catalogue):
    return make_request(
        catalogue.tee,
        model_photo=catalogue.alex,
        status=Status.SUCCEEDED,
        results=1,
        batch=make_batch(),
    )


# -- the list ------------------------------------------------------------------------------


def paid_in_dollars(make_request, garment, dollars, **fields):
    """A PiAPI try-on that finished now, billed ``dollars``."""
    return make_request(
        garment,
        provider="piapi",
        status=Status.SUCCEEDED,
        cost=Decimal(dollars),
        cost_currency="USD",
        submitted_at=timezone.now(),
        **fields,
    )


def failed_run(make_request, garment, model, code, **fields):
    """A catalogue try-on of ``garment`` on the house ``model`` that failed with ``code``."""
    return make_request(garment, model_photo=model, status=Status.FAILED, error_code=code, **fields)


def test_request_list_shows_status_thumbnails_provider_cost_and_age(
    merch_client, catalogue_request, catalogue
):
    catalogue_request.created_at = timezone.now() - timedelta(hours=3)
    catalogue_request.save()
    response = merch_client.get(REQUESTS)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="tryon-badge tryon-badge-ok">Succeeded</span>' in html
    assert catalogue.tee.image.url in html  # garment
    assert catalogue.alex.image.url in html  # the house model
    assert shows(html, catalogue_request.results.get())  # result
    assert "1 unit" in html and "3\xa0hours ago" in html
    assert f"/admin/django_tryon/tryonbatch/{catalogue_request.batch_id}/change/" in html
    assert "Cost summary" in html


def test_a_shoppers_photo_and_result_are_hidden_by_default(merch_client, shopper_request):
    html = merch_client.get(REQUESTS).content.decode()
    assert "shopper&#x27;s photo (hidden)" in html
    assert "hidden (shows a shopper)" in html
    assert not shows(html, shopper_request.results.get())
    assert shopper_request.person_image.url not in html
    assert "person-photo" not in html

    detail = merch_client.get(f"{REQUESTS}{shopper_request.pk}/change/").content.decode()
    assert not shows(detail, shopper_request.results.get())
    assert "person-photo" not in detail
    url = f"{REQUESTS}{shopper_request.pk}/person-photo/small/"
    assert merch_client.get(url).status_code == 404

    results = merch_client.get(RESULTS).content.decode()
    assert not shows(results, shopper_request.results.get())


def test_a_setting_lets_staff_see_shoppers_photos(merch_client, shopper_request, settings):
    settings.TRYON = {**settings.TRYON, "ADMIN_SHOW_SHOPPER_PHOTOS": True}
    url = f"{REQUESTS}{shopper_request.pk}/person-photo/small/"

    html = merch_client.get(REQUESTS).content.decode()
    assert url in html
    assert shows(html, shopper_request.results.get())
    # Served by a staff-only view, re-encoded: never the stored file's own URL or bytes.
    assert shopper_request.person_image.url not in html

    response = merch_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert max(image.size) == 160 and not image.getexif()

    assert merch_client.get(f"{REQUESTS}{shopper_request.pk}/person-photo/huge/").status_code == 404


def test_shoppers_photos_need_staff_with_view_permission(
    client, django_user_model, shopper_request, settings
):
    settings.TRYON = {**settings.TRYON, "ADMIN_SHOW_SHOPPER_PHOTOS": True}
    url = f"{REQUESTS}{shopper_request.pk}/person-photo/small/"
    assert "/admin/login/" in client.get(url)["Location"]
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    assert client.get(url).status_code == 403


def test_a_purged_photo_says_so(merch_client, make_request, catalogue):
    make_request(
        catalogue.shirt, status=Status.FAILED, person_image="", person_purged_at=timezone.now()
    )
    assert ">deleted<" in merch_client.get(REQUESTS).content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "failed"}, {"failed"}),
        ({"provider": "piapi"}, {"piapi-one"}),
        ({"source__exact": "admin"}, {"catalogue"}),
        (
            {
                "created_at__gte": "2000-01-01 00:00+00:00",
                "created_at__lt": "2000-01-02 00:00+00:00",
            },
            {"old"},
        ),
    ],
)
def test_request_filters(merch_client, make_request, make_batch, catalogue, params, expected):
    made = {
        "failed": make_request(catalogue.shirt, status=Status.FAILED),
        "piapi-one": make_request(catalogue.tee, provider="piapi", status=Status.SUBMITTED),
        "catalogue": make_request(
            catalogue.jeans, model_photo=catalogue.alex, status=Status.SUBMITTED
        ),
        "old": make_request(catalogue.dress, status=Status.SUBMITTED),
    }
    made["old"].created_at = datetime(2000, 1, 1, 12, tzinfo=UTC)
    made["old"].save()
    response = merch_client.get(REQUESTS, params)
    assert response.status_code == 200
    shown = {str(r.pk) for r in response.context["cl"].result_list}
    assert shown == {str(made[name].pk) for name in expected}


def test_filter_by_batch_and_statuses_from_the_batch_page(
    merch_client, make_request, make_batch, catalogue
):
    batch = make_batch()
    waiting = make_request(catalogue.shirt, model_photo=catalogue.alex, batch=batch)
    make_request(catalogue.tee, model_photo=catalogue.alex, batch=batch, status=Status.FAILED)
    make_request(catalogue.jeans, model_photo=catalogue.alex)
    response = merch_client.get(
        REQUESTS, {"batch__id__exact": str(batch.pk), "status__in": "pending,submitting"}
    )
    assert [r.pk for r in response.context["cl"].result_list] == [waiting.pk]


def test_search_by_garment(merch_client, make_request, catalogue):
    make_request(catalogue.shirt)
    make_request(catalogue.jeans)
    response = merch_client.get(REQUESTS, {"q": "jeans"})
    assert [r.garment for r in response.context["cl"].result_list] == [catalogue.jeans]


# -- actions -------------------------------------------------------------------------------


def test_retry_action(
    merch_client, make_request, catalogue, sent, django_capture_on_commit_callbacks
):
    failed = make_request(catalogue.shirt, model_photo=catalogue.alex, status=Status.FAILED)
    running = make_request(catalogue.tee, model_photo=catalogue.alex, status=Status.PROCESSING)
    with django_capture_on_commit_callbacks(execute=True):
        response = merch_client.post(
            REQUESTS, {"action": "retry_selected", "_selected_action": [failed.pk, running.pk]}
        )
    (retry,) = TryOnRequest.objects.filter(retry_of=failed)
    assert sent == [("django_tryon.submit", str(retry.pk))]
    assert not TryOnRequest.objects.filter(retry_of=running).exists()
    text = messages_of(response)
    assert "Retried 1 try-on: the copy is queued." in text
    assert any(m.startswith("1 left alone: only failed or cancelled") for m in text)

    # Retrying the same failure again does nothing: it was retried.
    merch_client.post(REQUESTS, {"action": "retry_selected", "_selected_action": [failed.pk]})
    assert TryOnRequest.objects.filter(retry_of=failed).count() == 1


def test_fetch_results_again_action(merch_client, make_request, catalogue, sent, monkeypatch):
    """A finished task whose images we could not store is fetched again, not retried (a
    retry would be a second paid task); a provider's own failure is left alone."""
    from django_tryon import services

    refused = failed_run(
        make_request,
        catalogue.shirt,
        catalogue.alex,
        "result_unavailable",
        provider_task_id="task-paid",
    )
    refused_by_provider = failed_run(make_request, catalogue.tee, catalogue.alex, "provider_failed")
    asked = []

    def recover(request):
        asked.append(request.pk)
        return recovery.Recovery(True, "Stored 1 image.")

    monkeypatch.setattr(services, "recover_results", recover)
    response = merch_client.post(
        REQUESTS,
        {"action": "recover_selected", "_selected_action": [refused.pk, refused_by_provider.pk]},
    )
    assert asked == [refused.pk]
    text = messages_of(response)
    assert "Fetched the results of 1 try-on again, without a new charge." in text
    assert any(m.startswith("1 not fetched again") for m in text)
    assert not TryOnRequest.objects.filter(retry_of__isnull=False).exists()


def test_retry_of_a_purged_shopper_photo_explains_why_not(
    merch_client, make_request, catalogue, sent
):
    gone = make_request(catalogue.shirt, status=Status.FAILED, person_image="")
    response = merch_client.post(
        REQUESTS, {"action": "retry_selected", "_selected_action": [gone.pk]}
    )
    assert any("person photo has been deleted" in m for m in messages_of(response))


def test_refresh_action_queues_a_fetch_for_requests_at_the_provider(
    merch_client, make_request, catalogue, sent, django_capture_on_commit_callbacks
):
    at_provider = make_request(catalogue.shirt, status=Status.SUBMITTED)
    done = make_request(catalogue.tee, status=Status.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        response = merch_client.post(
            REQUESTS, {"action": "refresh_selected", "_selected_action": [at_provider.pk, done.pk]}
        )
    assert sent == [("django_tryon.refresh", str(at_provider.pk))]
    assert any(m.startswith("Asked the provider about 1") for m in messages_of(response))


def test_cancel_action(merch_client, make_request, catalogue, sent, sandbox_server):
    pending = make_request(catalogue.shirt, status=Status.PENDING)
    at_provider = make_request(
        catalogue.jeans, status=Status.PROCESSING, provider="piapi", provider_task_id="t-1"
    )
    done = make_request(catalogue.tee, status=Status.SUCCEEDED)
    response = merch_client.post(
        REQUESTS,
        {"action": "cancel_selected", "_selected_action": [pending.pk, at_provider.pk, done.pk]},
    )
    for request in (pending, at_provider, done):
        request.refresh_from_db()
    assert (pending.status, at_provider.status, done.status) == (
        Status.CANCELLED,
        Status.CANCELLED,
        Status.SUCCEEDED,
    )
    assert "Cancelled 2 try-ons." in messages_of(response)


def test_request_actions_need_the_change_permission(viewer_client, make_request, catalogue, sent):
    failed = make_request(catalogue.shirt, status=Status.FAILED)
    changelist = viewer_client.get(REQUESTS).content.decode()
    assert "retry_selected" not in changelist and "cancel_selected" not in changelist
    viewer_client.post(REQUESTS, {"action": "retry_selected", "_selected_action": [failed.pk]})
    for verb in ("retry", "refresh", "cancel"):
        assert viewer_client.post(f"{REQUESTS}{failed.pk}/{verb}/").status_code == 403
    assert not TryOnRequest.objects.filter(retry_of=failed).exists()


# -- the detail page ---------------------------------------------------------------------------


def test_detail_page_quotes_what_the_shopper_saw(merch_client, make_request, catalogue):
    """It quoted a stored text the widget never showed; now the one table's words."""
    failed = make_request(
        catalogue.shirt,
        status=Status.FAILED,
        error_code="provider_account",
    )
    assert failed.source == Source.WIDGET
    html = merch_client.get(f"{REQUESTS}{failed.pk}/change/").content.decode()
    assert (
        "The shopper saw: “The try-on service is busy right now. Please try again in a few "
        "minutes.”" in html
    )


def test_detail_page_explains_the_error_and_shows_the_raw_one(
    merch_client, make_request, catalogue
):
    failed = failed_run(
        make_request,
        catalogue.shirt,
        catalogue.alex,
        "provider_account",
        error_detail="kling HTTP 429 code 1102: Account balance not enough",
    )
    response = merch_client.get(f"{REQUESTS}{failed.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The provider account needs attention" in html
    # A batch try-on had no shopper: nothing is said about what one was told.
    assert "The shopper" not in html
    assert "Account balance not enough" in html  # the provider's own words, for staff
    assert 'value="Retry"' in html and f"{failed.pk}/retry/" in html
    assert "Cancel this try-on" not in html  # a failed try-on cannot be cancelled
    assert 'name="_save"' not in html


def test_detail_page_never_edits_state(merch_client, make_request, catalogue):
    request = make_request(catalogue.shirt, status=Status.SUBMITTED)
    form = merch_client.get(f"{REQUESTS}{request.pk}/change/").context["adminform"].form
    assert list(form.fields) == []  # everything is read-only
    with CaptureQueriesContext(connection) as ctx:
        merch_client.post(
            f"{REQUESTS}{request.pk}/change/", {"status": "succeeded", "cost": "0", "provider": "x"}
        )
    # Not even a whole-row write of the same values (it could undo a worker's update).
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert not [sql for sql in writes if "django_tryon_tryonrequest" in sql]
    request.refresh_from_db()
    assert (request.status, request.provider, request.cost) == (
        Status.SUBMITTED,
        "kling",
        Decimal("1"),
    )
    assert merch_client.get(f"{REQUESTS}add/").status_code == 403
    assert merch_client.get(f"{REQUESTS}{request.pk}/delete/").status_code == 403


def test_detail_buttons(
    merch_client, make_request, catalogue, sent, django_capture_on_commit_callbacks
):
    failed = make_request(catalogue.shirt, model_photo=catalogue.alex, status=Status.FAILED)
    assert merch_client.get(f"{REQUESTS}{failed.pk}/retry/").status_code == 405

    with django_capture_on_commit_callbacks(execute=True):
        response = merch_client.post(f"{REQUESTS}{failed.pk}/retry/")
    retry = TryOnRequest.objects.get(retry_of=failed)
    assert response["Location"] == f"{REQUESTS}{retry.pk}/change/"

    response = merch_client.post(f"{REQUESTS}{failed.pk}/retry/")
    assert response["Location"] == f"{REQUESTS}{failed.pk}/change/"
    assert TryOnRequest.objects.filter(retry_of=failed).count() == 1

    response = merch_client.post(f"{REQUESTS}{retry.pk}/cancel/")
    retry.refresh_from_db()
    assert retry.status == Status.CANCELLED and "Cancelled." in messages_of(response)

    submitted = make_request(catalogue.tee, status=Status.SUBMITTED)
    detail = merch_client.get(f"{REQUESTS}{submitted.pk}/change/").content.decode()
    assert "Refresh from the provider" in detail and "Cancel this try-on" in detail
    with django_capture_on_commit_callbacks(execute=True):
        merch_client.post(f"{REQUESTS}{submitted.pk}/refresh/")
    assert ("django_tryon.refresh", str(submitted.pk)) in sent


def test_who_asked_never_shows_a_session_key(merch_client, make_request, catalogue):
    request = make_request(catalogue.shirt, owner_key="session:0123456789abcdef")
    html = merch_client.get(f"{REQUESTS}{request.pk}/change/").content.decode()
    assert "an anonymous shopper" in html and "0123456789abcdef" not in html


# -- results: review and publish -------------------------------------------------------------


def test_approve_results_action(merch_client, merchandiser, catalogue_request, shopper_request):
    ids = [r.pk for r in TryOnResult.objects.all()]
    response = merch_client.post(RESULTS, {"action": "approve_selected", "_selected_action": ids})
    approved = TryOnResult.objects.get(approved=True)
    assert approved.request == catalogue_request
    assert approved.approved_by == merchandiser and approved.approved_at
    assert not shopper_request.results.get().approved
    text = messages_of(response)
    assert "1 result approved for product pages." in text
    assert any("never a shopper's" in m for m in text)

    merch_client.post(RESULTS, {"action": "withdraw_selected", "_selected_action": ids})
    approved.refresh_from_db()
    assert not approved.approved and approved.approved_by is None and approved.approved_at is None


def test_approving_twice_keeps_the_first_approval(catalogue_request, merchandiser, viewer):
    results = TryOnResult.objects.filter(request=catalogue_request)
    assert publishing.publish(results, merchandiser) == (1, 0)
    first = results.get().approved_at
    assert publishing.publish(results, viewer) == (0, 0)
    assert results.get().approved_by == merchandiser and results.get().approved_at == first


def test_only_finished_catalogue_runs_can_be_published(make_request, catalogue, merchandiser):
    api_on_model = make_request(
        catalogue.shirt,
        model_photo=catalogue.alex,
        status=Status.SUCCEEDED,
        results=1,
        source=Source.API,
    )
    cancelled = make_request(
        catalogue.tee, model_photo=catalogue.sam, status=Status.CANCELLED, results=1
    )
    results = TryOnResult.objects.filter(request__in=[api_on_model, cancelled])
    assert publishing.publish(results, merchandiser) == (0, 2)
    assert not TryOnResult.objects.filter(approved=True).exists()


def test_publishing_needs_its_permission(viewer_client, catalogue_request):
    changelist = viewer_client.get(RESULTS).content.decode()
    assert "approve_selected" not in changelist
    viewer_client.post(
        RESULTS,
        {"action": "approve_selected", "_selected_action": [catalogue_request.results.get().pk]},
    )
    assert not TryOnResult.objects.filter(approved=True).exists()


def test_result_list_and_filters(merch_client, catalogue_request, shopper_request, catalogue):
    html = merch_client.get(RESULTS).content.decode()
    assert "Red T-shirt" in html and "Alex" in html and "a shopper" in html
    shown = merch_client.get(RESULTS, {"kind": "catalogue"}).context["cl"].result_list
    assert [r.request for r in shown] == [catalogue_request]
    shown = merch_client.get(RESULTS, {"approved__exact": "1"}).context["cl"].result_list
    assert list(shown) == []
    detail = merch_client.get(f"{RESULTS}{catalogue_request.results.get().pk}/change/")
    assert detail.status_code == 200
    assert shows(detail.content.decode(), catalogue_request.results.get())


# -- cost ----------------------------------------------------------------------------------


def test_cost_summary(merch_client, make_request, catalogue, settings):
    settings.TRYON = {
        **settings.TRYON,
        "SHOP_DAILY_BUDGET": {"USD": "1.00", "units": 10},
        "SHOP_MONTHLY_GENERATION_LIMIT": 500,
        "SHOP_DAILY_GENERATION_LIMIT": None,
    }
    now = timezone.now()
    make_request(catalogue.shirt, status=Status.SUCCEEDED, cost=Decimal("1"), submitted_at=now)
    make_request(catalogue.tee, status=Status.SUCCEEDED, cost=Decimal("2"), submitted_at=now)
    make_request(
        catalogue.jeans,
        model_photo=catalogue.alex,
        provider="piapi",
        status=Status.SUCCEEDED,
        cost=Decimal("0.14"),
        cost_currency="USD",
        submitted_at=now,
    )
    make_request(catalogue.dress, status=Status.PENDING)  # not sent: costs nothing
    # Counted against the budgets as the quotas do when try-ons start.
    from django_tryon import quotas

    quotas.reserve(quotas.Charge(3, Decimal("3"), "units"))
    quotas.reserve(quotas.Charge(2, Decimal("0.14"), "USD"))

    response = merch_client.get(f"{REQUESTS}cost/")

    assert response.status_code == 200
    assert_app_page(response.content.decode(), "tryon-cost-page", REQUESTS)
    summary = response.context["summary"]
    assert summary["totals"]["today"].parts == ["$0.14", "3 units"]
    assert summary["counts"] == {"today": 3, "month": 3}
    assert [
        (r["label"], r["today_count"], str(r["today_cost"])) for r in summary["by_provider"]
    ] == [
        ("Kling", 2, "3 units"),
        ("PiAPI (Kling through PiAPI)", 1, "$0.14"),
    ]
    limits = {(str(lim["period"]), str(lim["what"])): lim for lim in summary["limits"]}
    assert (
        limits[("Today", "USD")]["used"] == "$0.14" and limits[("Today", "USD")]["limit"] == "$1.00"
    )
    assert limits[("Today", "units")]["percent"] == 30
    assert limits[("This month", "images")]["limit"] == "500"
    assert limits[("Today", "images")]["limit"] is None
    html = response.content.decode()
    assert "SHOP_DAILY_BUDGET" in html and "$0.14" in html and "3 units" in html
    # The totals read as a list, not "$0.14  3 units"; a percentage as "30%".
    assert "<span>$0.14</span>, <span>3 units</span>" in html
    assert " 30%" in html and "30 %" not in html
    # One row per source, its currencies side by side (it was one unlabelled row each).
    assert [(r["label"], r["today_count"], str(r["today_cost"])) for r in summary["by_source"]] == [
        ("Admin", 1, "$0.14"),
        ("Product-page widget", 2, "3 units"),
    ]


def test_cost_page_draws_the_month_and_counts_per_garment(merch_client, make_request, catalogue):
    now = timezone.now()
    for garment, status in [
        (catalogue.shirt, Status.SUCCEEDED),
        (catalogue.shirt, Status.FAILED),
        (catalogue.tee, Status.SUCCEEDED),
    ]:
        make_request(garment, status=status, cost=Decimal("1"), submitted_at=now)
    response = merch_client.get(f"{REQUESTS}cost/")
    summary = response.context["summary"]
    assert [
        (g["name"], g["count"], g["succeeded"], str(g["cost"])) for g in summary["by_garment"]
    ] == [
        ("Striped shirt", 2, 1, "2 units"),
        ("Red T-shirt", 1, 1, "1 unit"),
    ]
    html = response.content.decode()
    # Drawn by the server: one bar per day of the month, today's labelled with its number.
    days = calendar.monthrange(now.year, now.month)[1]
    charts = re.findall(r'<svg class="tryon-chart".*?</svg>', html, re.S)
    assert len(charts) == 2  # try-ons, then spend in units
    assert "<figcaption>Try-ons per day</figcaption>" in html
    assert charts[0].count("<rect") == days
    assert 'role="img"' in charts[0] and "busiest" in charts[0]
    assert re.search(r'class="tryon-chart-value">3</text>', charts[0])
    assert re.search(r'class="tryon-chart-value">3 units</text>', charts[1])
    assert "<script" not in html.split('id="tryon-by-day"')[1] and "http" not in "".join(charts)


def test_a_source_with_two_currencies_is_one_row(merch_client, make_request, catalogue):
    now = timezone.now()
    make_request(catalogue.shirt, status=Status.SUCCEEDED, cost=Decimal("16"), submitted_at=now)
    paid_in_dollars(make_request, catalogue.jeans, "0.70")
    summary = merch_client.get(f"{REQUESTS}cost/").context["summary"]
    [row] = summary["by_source"]
    assert (row["label"], row["today_count"], row["month_count"]) == ("Product-page widget", 2, 2)
    assert str(row["today_cost"]) == str(row["month_cost"]) == "$0.70, 16 units"


def test_the_cost_page_reads_in_the_shops_money(merch_client, make_request, catalogue):
    """Kling's units at the price of the day they were made, PiAPI's dollars as they are:
    one total in the shop's currency, what was billed beside it, and a cost made before
    any price was set shown as billed rather than guessed."""
    now = timezone.now()
    priced = {"unit_price": Decimal("0.14"), "shop_currency": "USD"}
    make_request(
        catalogue.shirt, status=Status.SUCCEEDED, cost=Decimal("10"), submitted_at=now, **priced
    )
    make_request(
        catalogue.tee, status=Status.SUCCEEDED, cost=Decimal("6"), submitted_at=now, **priced
    )
    paid_in_dollars(
        make_request, catalogue.jeans, "0.70", unit_price=Decimal("1"), shop_currency="USD"
    )
    response = merch_client.get(f"{REQUESTS}cost/")
    summary = response.context["summary"]
    month = summary["totals"]["month"]
    assert month.parts == ["$2.94"]  # 16 units x $0.14 + $0.70
    assert month.as_billed == "$0.70, 16 units"
    kling = summary["by_provider"][0]
    assert (str(kling["month_cost"]), kling["month_cost"].as_billed) == ("$2.24", "16 units")
    html = response.content.decode()
    assert "<span>$2.94</span>" in html and "Billed: $0.70, 16 units" in html
    assert "Spend per day (USD)" in html and "Spend per day (units)" not in html

    make_request(catalogue.dress, status=Status.SUCCEEDED, cost=Decimal("3"), submitted_at=now)
    month = merch_client.get(f"{REQUESTS}cost/").context["summary"]["totals"]["month"]
    assert month.parts == ["$2.94", "3 units"]


def test_cost_summary_needs_permission(client, django_user_model, viewer_client):
    assert viewer_client.get(f"{REQUESTS}cost/").status_code == 200
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    assert client.get(f"{REQUESTS}cost/").status_code == 403


def test_provider_cost_estimates_are_what_the_bulk_page_shows():
    assert get_provider("kling").estimate_cost(1) == (Decimal("1"), "units")
    assert get_provider("piapi").estimate_cost(2) == (Decimal("0.14"), "USD")


def test_the_cost_page_says_what_one_add_to_cart_cost(
    merch_client, make_request, catalogue, settings
):
    """The funnel beside the money: shoppers' try-ons of a garment, their cost in the
    shop's money, and that cost per add to cart; the catalogue's runs are left out."""
    from django_tryon import funnel
    from django_tryon.models import Source

    settings.TRYON = {**settings.TRYON, "FUNNEL": True}
    now = timezone.now()
    priced = {"unit_price": Decimal("0.14"), "shop_currency": "USD", "submitted_at": now}
    for _ in range(4):
        make_request(catalogue.shirt, status=Status.SUCCEEDED, cost=Decimal("1"), **priced)
    make_request(
        catalogue.shirt, source=Source.ADMIN, status=Status.SUCCEEDED, cost=Decimal("5"), **priced
    )
    for step, times in [("opened", 9), ("photo_given", 6)]:
        for _ in range(times):
            funnel.count(step, catalogue.shirt)
    for request in catalogue.shirt.requests.filter(source=Source.WIDGET)[:3]:
        funnel.count("result_shown", catalogue.shirt, request)
    for request in catalogue.shirt.requests.filter(source=Source.WIDGET)[:2]:
        funnel.count("added_to_cart", catalogue.shirt, request)
    funnel.count("opened", catalogue.tee)  # opened, never tried: no cost, no division

    response = merch_client.get(f"{REQUESTS}cost/")
    rows = response.context["summary"]["funnel"]["rows"]
    shirt, tee = rows
    assert (shirt["name"], shirt["opened"], shirt["photo_given"]) == ("Striped shirt", 9, 6)
    assert (shirt["result_shown"], shirt["added_to_cart"], shirt["tryons"]) == (3, 2, 4)
    assert str(shirt["cost"]) == "$0.56" and str(shirt["per_add_to_cart"]) == "$0.28"
    assert (tee["name"], tee["opened"], tee["tryons"], str(tee["cost"])) == (
        "Red T-shirt",
        1,
        0,
        "—",
    )
    html = response.content.decode()
    assert "Added to cart after a try-on" in html and "<td>$0.28</td>" in html

    settings.TRYON = {**settings.TRYON, "FUNNEL": False}
    html = merch_client.get(f"{REQUESTS}cost/").content.decode()
    assert "Funnel counts are off" in html and "TRYON['FUNNEL'] = True" in html


def test_a_shoppers_png_photo_is_shrunk_outside_the_web_process(
    merch_client, shopper_request, settings, monkeypatch
):
    """A PNG decodes in full (no scaled decoding as for a JPEG): a flat 64-megapixel PNG of
    a few hundred kilobytes would cost the admin's process 256 MB per thumbnail."""
    from django.core.files.base import ContentFile

    from django_tryon import images
    from django_tryon.models import tryon_storage

    settings.TRYON = {**settings.TRYON, "ADMIN_SHOW_SHOPPER_PHOTOS": True}
    buf = io.BytesIO()
    Image.new("RGB", (900, 1200), (30, 60, 90)).save(buf, "PNG")
    name = tryon_storage().save("tryon/uploads/shopper.png", ContentFile(buf.getvalue()))
    type(shopper_request).objects.filter(pk=shopper_request.pk).update(person_image=name)
    inline = []
    monkeypatch.setattr(images, "thumbnail_bytes", lambda *a, **k: inline.append(a))
    response = merch_client.get(f"{REQUESTS}{shopper_request.pk}/person-photo/small/")
    assert response.status_code == 200 and inline == []
    assert Image.open(io.BytesIO(response.content)).size == (120, 160)


def test_a_banner_when_tryons_wait_for_a_worker_that_never_came(
    merch_client, make_request, catalogue
):
    """Without a worker, try-ons were accepted and waited without a word (issue 23)."""
    waiting = make_request(catalogue.shirt, status=Status.PENDING, source=Source.WIDGET)
    TryOnRequest.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    page = merch_client.get(REQUESTS)
    said = [str(m) for m in get_messages(page.wsgi_request)]
    assert any("1 try-on has waited more than 2 minutes" in m for m in said), said
    from django_tryon.models import WorkerHeartbeat

    WorkerHeartbeat.objects.create(worker="w:1", seen_at=timezone.now())
    page = merch_client.get(REQUESTS)
    assert not [m for m in get_messages(page.wsgi_request) if "worker" in str(m)]
