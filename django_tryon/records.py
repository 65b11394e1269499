"""What the app counts and remembers about its own work, beside the shop's try-ons:
usage counters (quotas and budgets), callback receipts, funnel days, provider health
and worker heartbeats. Imported by ``models``, where Django finds them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UsageCounter(models.Model):
    """Generations and spend of one scope in one period, for quotas and budgets.

    Limits are enforced with conditional UPDATEs on these rows, so they hold when many
    requests arrive at once. ``scope`` is "shop" or an owner key; ``period`` is
    "day:YYYY-MM-DD" or "month:YYYY-MM".
    """

    scope = models.CharField(max_length=100)
    period = models.CharField(max_length=20)
    generations = models.PositiveIntegerField(default=0)
    spend = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("usage counter")
        verbose_name_plural = _("usage counters")
        constraints = [
            models.UniqueConstraint(fields=["scope", "period"], name="tryon_unique_usage_period")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.period}: {self.generations}"


class CallbackReceipt(models.Model):
    """One callback delivery as it arrived: whom it was for, whether it passed its
    checks (and why not), the task id it named, and what was done with it.

    Kept so that a refused or ignored callback is visible to the shop in the admin, not
    only in a log. Never holds the URL token, the body or any header: only what a shop
    needs to see that deliveries arrive. Deliveries that proved nothing share one
    receipt a minute (``deliveries`` counts them). Deleted after
    ``CALLBACK_RECEIPT_RETENTION_DAYS``.
    """

    class Outcome(models.TextChoices):
        FETCH_QUEUED = "fetch_queued", _("accepted: the task is fetched from the provider")
        IGNORED = "ignored", _("accepted: nothing to do")
        PROGRESS = "progress", _("accepted: the try-on is now generating")
        REFUSED = "refused", _("refused: failed its checks")
        UNKNOWN = "unknown", _("refused: no such try-on")

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    provider = models.CharField(max_length=32)
    request = models.ForeignKey(
        "django_tryon.TryOnRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="callback_receipts",
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=200, blank=True)
    task_id_hint = models.CharField(_("task id named"), max_length=128, blank=True)
    status_hint = models.CharField(_("status named"), max_length=32, blank=True)
    body_bytes = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    #: Deliveries this receipt stands for: 1, or for callers that proved nothing (an
    #: unknown token, an absurd length) every such delivery of that minute.
    deliveries = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("callback receipt")
        verbose_name_plural = _("callback receipts")

    def __str__(self) -> str:
        return f"{self.provider} callback {self.received_at:%Y-%m-%d %H:%M:%S} ({self.outcome})"


class FunnelDay(models.Model):
    """How shoppers went through the try-on of one garment on one day of the shop: counts
    only, never who (TRYON["FUNNEL"], django_tryon.funnel)."""

    garment = models.ForeignKey(
        "django_tryon.Garment", on_delete=models.CASCADE, related_name="funnel_days"
    )
    day = models.DateField()
    opened = models.PositiveIntegerField(_("opened"), default=0)
    photo_given = models.PositiveIntegerField(_("photo given"), default=0)
    result_shown = models.PositiveIntegerField(_("result shown"), default=0)
    added_to_cart = models.PositiveIntegerField(_("added to cart after a try-on"), default=0)
    ordered = models.PositiveIntegerField(_("ordered after a try-on"), default=0)

    class Meta:
        verbose_name = _("funnel day")
        verbose_name_plural = _("funnel days")
        constraints = [
            models.UniqueConstraint(fields=["garment", "day"], name="tryon_funnel_garment_day")
        ]

    def __str__(self):
        return f"{self.garment} {self.day}"


class ProviderHealth(models.Model):
    """What routing knows about one provider, shared by every process on every machine:
    out of credit until when, and its circuit breaker (django_tryon.routing)."""

    provider = models.CharField(max_length=32, primary_key=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    probe_at = models.DateTimeField(null=True, blank=True)
    out_of_credit_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("provider health")
        verbose_name_plural = _("provider health")

    def __str__(self):
        return self.provider


class WorkerHeartbeat(models.Model):
    """When one Celery worker process last took the app's tasks (``heartbeat``)."""

    worker = models.CharField(max_length=200, primary_key=True)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.worker} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"
