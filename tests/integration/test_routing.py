"""A shop on Kling keeps try-on alive through Kling running out of credit and through a
Kling outage, with no request paid twice: a real prefork worker started with the same
route (TRYON_TEST_ROUTING), the sandbox over real HTTP, a real database.

Every wait is for a positive end (a request final, the breaker open, the credit pause
over); then tasks, stored results and counters are counted.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from django_tryon import quotas, routing, services
from django_tryon.callers import Caller
from django_tryon.models import ProviderHealth, Source, TryOnRequest, UsageCounter
from django_tryon.status import Status
from kit import imagegen
from kit.waiting import wait_until
from tests.integration.test_pipeline import creates, provider_tasks
from tests.pipeline import Worker, wait_for_status
from tests.settings import ROUTING_TEST_TIMINGS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture
def routed(transactional_db, live_server, sandbox, worker_pool, settings):
    """The session's worker stopped, and one that routes kling, then fashn, in its place."""
    settings.TRYON = {
        **settings.TRYON,
        "ROUTING": {"default": ["kling", "fashn"]},
        **ROUTING_TEST_TIMINGS,
    }
    worker_pool.stop_all()
    worker = Worker(
        worker_pool.db_name, worker_pool.log_dir, env={"TRYON_TEST_ROUTING": "kling,fashn"}
    ).start()
    yield {"sandbox": sandbox, "worker": worker}
    worker.stop()


def shopper_tryon(make_garment) -> TryOnRequest:
    request, created = services.create_tryon(
        garment=make_garment("upper"),
        person_image=imagegen.make_person(),
        caller=Caller(source=Source.WIDGET, consented=True),
    )
    assert created and request.routed
    return request


def spend(currency: str) -> Decimal:
    day = quotas._periods(timezone.now())[0]
    row = UsageCounter.objects.filter(scope=f"shop:{currency}", period=day).first()
    return row.spend if row else Decimal(0)


def assert_paid_once(sandbox):
    """Every request that reached a provider holds one task there, none anywhere else."""
    tasks = [t for name in ("kling", "fashn") for t in provider_tasks(sandbox, name)]
    by_id = {t["task_id"]: t for t in tasks}
    assert len(by_id) == len(tasks)
    reached = TryOnRequest.objects.exclude(provider_task_id="")
    assert sorted(r.provider_task_id for r in reached) == sorted(by_id)
    for request in reached:
        assert by_id[request.provider_task_id]["provider"] == request.provider


def test_out_of_credit_kling_falls_back_to_fashn_and_comes_back(routed, make_garment):
    sandbox, worker = routed["sandbox"], routed["worker"]
    # Kling's next create answers 1102 (account in arrears): nothing is created.
    sandbox.set_faults(kling_error={"code": 1102, "count": 1})

    first = shopper_tryon(make_garment)
    assert first.provider == "kling"  # nothing known against Kling yet
    wait_for_status(first, Status.SUCCEEDED, worker=worker)
    assert first.provider == "fashn"
    assert first.routing_note.startswith(
        "kling refused the try-on ("
    ) and first.routing_note.endswith("-> fashn")
    assert first.results.count() == 1

    # While Kling is out of credit, new try-ons go to FASHN at once.
    second = shopper_tryon(make_garment)
    assert second.provider == "fashn" and second.routing_note.startswith("kling is out of credit")
    wait_for_status(second, Status.SUCCEEDED, worker=worker)

    assert len(creates(sandbox, "kling")) == 1  # the refused one, never sent again
    assert provider_tasks(sandbox, "kling") == []
    assert len(provider_tasks(sandbox, "fashn")) == 2
    # The moved reservation: Kling's unit given back, FASHN's credits counted, and the
    # shop's dollars are FASHN's two credits at $0.075.
    assert spend("units") == 0 and spend("credits") == 2 and spend("USD") == Decimal("0.15")

    # The credit pause ends: the route tries Kling again, which works now.
    wait_until(lambda: routing.unavailable_now("kling") is None, timeout=10, what="the pause")
    third = shopper_tryon(make_garment)
    assert (third.provider, third.routing_note) == ("kling", "")
    wait_for_status(third, Status.SUCCEEDED, worker=worker)
    assert ProviderHealth.objects.get(provider="kling").out_of_credit_until is None
    assert_paid_once(sandbox)


def test_a_kling_outage_opens_the_breaker_and_fashn_carries_on(routed, make_garment):
    sandbox, worker = routed["sandbox"], routed["worker"]
    sandbox.set_faults(kling_internal=True)  # every Kling create: HTTP 500, code 5000

    during = shopper_tryon(make_garment)
    assert during.provider == "kling"
    # Its retries fail on Kling until the breaker opens (three in a row).
    wait_until(
        lambda: ProviderHealth.objects.filter(
            provider="kling", open_until__gt=timezone.now()
        ).exists(),
        timeout=30,
        what="Kling's breaker to open",
    )
    detour = shopper_tryon(make_garment)
    assert detour.provider == "fashn"
    assert detour.routing_note.startswith("kling is failing (circuit open after 3 failures")
    wait_for_status(detour, Status.SUCCEEDED, worker=worker)

    # Kling comes back. The request sent to it during the outage may have reached it (a
    # 5xx proves nothing), so it never moved: its next retry asks Kling by our id, finds
    # nothing, creates once, and the success closes the breaker.
    sandbox.clear_faults()
    wait_for_status(during, Status.SUCCEEDED, timeout=60, worker=worker)
    assert during.provider == "kling" and during.routing_note == ""
    wait_until(
        lambda: ProviderHealth.objects.filter(provider="kling", open_until=None).exists(),
        timeout=10,
        what="the breaker to close",
    )
    after = shopper_tryon(make_garment)
    assert after.provider == "kling"
    wait_for_status(after, Status.SUCCEEDED, worker=worker)

    assert len(provider_tasks(sandbox, "kling")) == 2 and len(provider_tasks(sandbox, "fashn")) == 1
    assert_paid_once(sandbox)
    assert all(r.results.count() == 1 for r in TryOnRequest.objects.all())
