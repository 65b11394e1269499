import uuid

import pytest

from django_tryon.status import (
    ACTIVE,
    AT_PROVIDER,
    TERMINAL,
    TRANSITIONS,
    InvalidTransition,
    Status,
    can_move,
    sources_of,
)


def test_every_status_has_a_row():
    assert set(TRANSITIONS) == set(Status)


def test_terminal_statuses_go_nowhere():
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("pending", "submitting"),
        ("submitting", "submitted"),
        ("submitting", "pending"),
        ("submitted", "processing"),
        ("processing", "succeeded"),
        ("submitted", "succeeded"),
        ("pending", "cancelled"),
        ("processing", "failed"),
    ],
)
def test_forward_moves_allowed(current, target):
    assert can_move(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("processing", "submitted"),  # a late "submitted" callback
        ("succeeded", "processing"),
        ("succeeded", "failed"),
        ("failed", "succeeded"),
        ("cancelled", "pending"),
        ("submitted", "pending"),  # never resubmit what the provider holds
        ("pending", "succeeded"),
        ("processing", "processing"),
    ],
)
def test_backward_and_skipping_moves_refused(current, target):
    assert not can_move(current, target)


def test_sources_of_succeeded_are_only_provider_states():
    assert set(sources_of("succeeded")) == {s.value for s in AT_PROVIDER}


def test_active_and_terminal_partition_statuses():
    assert set(Status) == ACTIVE | TERMINAL
    assert not ACTIVE & TERMINAL


@pytest.mark.django_db
def test_transition_is_compare_and_set(make_garment):
    from django_tryon.models import TryOnRequest
    from django_tryon.pipeline.transitions import transition

    garment = make_garment()
    req = TryOnRequest.objects.create(
        provider="kling", garment=garment, input_digest=uuid.uuid4().hex
    )
    stale = TryOnRequest.objects.get(pk=req.pk)
    assert transition(req, Status.SUBMITTING, expected=[Status.PENDING])
    # A second worker holding the stale copy cannot claim it again.
    assert not transition(stale, Status.SUBMITTING, expected=[Status.PENDING])
    req.refresh_from_db()
    assert req.status == Status.SUBMITTING


@pytest.mark.django_db
def test_transition_refuses_moves_outside_the_table(make_garment):
    from django_tryon.models import TryOnRequest
    from django_tryon.pipeline.transitions import transition

    req = TryOnRequest.objects.create(
        provider="kling",
        garment=make_garment(),
        input_digest=uuid.uuid4().hex,
        status=Status.SUCCEEDED,
    )
    with pytest.raises(InvalidTransition):
        transition(req, Status.PROCESSING, expected=[Status.SUCCEEDED])
