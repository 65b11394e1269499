"""The cost summary: what try-ons cost today and this month, by provider, against budgets.

A request's cost is recorded when the provider accepts it (the adapter's estimate), then
replaced by the provider's own figure when it reports one; it counts on the day it was
submitted. Kling bills in resource-pack units and PiAPI in dollars: each request also keeps
the price of one billed unit in the shop's currency on the day it was made (the provider's
``UNIT_PRICE``), so the page reads in the shop's money, with what was billed beside it. A
cost with no price is never guessed at: it is shown as billed, beside the money.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import DEFAULTS, get_setting
from ..models import Source, TryOnRequest, UsageCounter
from ..status import Status
from .charts import daily_bars
from .display import money, provider_label
from .funnel import funnel_summary
from .spend import CURRENCIES, IN_SHOP_MONEY, Spend

#: The shop's limits, per period: (label, usage-counter period prefix, image limit setting,
#: budget setting). They are enforced on UsageCounter rows (see django_tryon.quotas).
LIMITS = [
    (_("Today"), "day", "SHOP_DAILY_GENERATION_LIMIT", "SHOP_DAILY_BUDGET"),
    (_("This month"), "month", "SHOP_MONTHLY_GENERATION_LIMIT", "SHOP_MONTHLY_BUDGET"),
]
SHOP_SCOPE = "shop"


def period_starts(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The start of today and of this month, in the current time zone."""
    local = timezone.localtime(now or timezone.now())
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today.replace(day=1)


def cost_summary(now: datetime | None = None) -> dict:
    """Counts and spend of today and this month, by provider and source, and by day."""
    today, month = period_starts(now)
    charged = TryOnRequest.objects.filter(cost__isnull=False, submitted_at__gte=month).order_by()
    in_today = Q(submitted_at__gte=today)
    sums = {
        "month_count": Count("pk"),
        "month_cost": Sum("cost"),
        "month_money": Sum(IN_SHOP_MONEY),
        "today_count": Count("pk", filter=in_today),
        "today_cost": Sum("cost", filter=in_today),
        "today_money": Sum(IN_SHOP_MONEY, filter=in_today),
    }
    by_provider = list(
        charged.values("provider", *CURRENCIES).annotate(**sums).order_by("provider")
    )
    by_source = list(charged.values("source", *CURRENCIES).annotate(**sums).order_by("source"))
    by_garment = list(
        charged.values("garment_id", "garment__name", *CURRENCIES)
        .annotate(**sums, succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)))
        .order_by("garment__name")
    )
    by_day = list(
        charged.annotate(day=TruncDate("submitted_at", tzinfo=timezone.get_current_timezone()))
        .values("day", *CURRENCIES)
        .annotate(count=Count("pk"), day_cost=Sum("cost"), day_money=Sum(IN_SHOP_MONEY))
        .order_by("-day", *CURRENCIES)
    )
    totals = {"today": Spend(), "month": Spend()}
    counts = {"today": 0, "month": 0}
    for row in by_provider:
        for period in ("today", "month"):
            totals[period].add(row, period)
            counts[period] += row[f"{period}_count"]
    source_labels = dict(Source.choices)
    return {
        "today": today,
        "month": month,
        "currency": get_setting("CURRENCY"),
        "counts": counts,
        "totals": totals,
        "by_provider": _rows(by_provider, lambda r: provider_label(r["provider"])),
        "by_source": _rows(by_source, lambda r: source_labels.get(r["source"], r["source"])),
        "by_garment": _garments(by_garment),
        "by_day": _days(by_day),
        "charts": _charts(month, by_day),
        "funnel": funnel_summary(month, charged),
        "limits": _limits(today),
    }


def _rows(rows: list[dict], label_of) -> list[dict]:
    """One row per provider (or source), its currencies side by side: a source whose
    try-ons went to two providers is one row, with dollars and units, never two rows
    with the same name."""
    merged: dict = {}
    for row in rows:
        label = str(label_of(row))
        line = merged.setdefault(
            label,
            {
                "label": label,
                "today_count": 0,
                "month_count": 0,
                "today": Spend(),
                "month": Spend(),
            },
        )
        line["today_count"] += row["today_count"]
        line["month_count"] += row["month_count"]
        if row["today_count"]:
            line["today"].add(row, "today")
        line["month"].add(row, "month")
    return [
        {
            "label": line["label"],
            "today_count": line["today_count"],
            "today_cost": line["today"],
            "month_count": line["month_count"],
            "month_cost": line["month"],
        }
        for line in merged.values()
    ]


def _garments(rows: list[dict]) -> list[dict]:
    """This month's try-ons per garment, the most tried first (currencies side by side)."""
    merged: dict = {}
    for row in rows:
        line = merged.setdefault(
            row["garment_id"],
            {"id": row["garment_id"], "name": row["garment__name"], "count": 0, "succeeded": 0},
        )
        line["count"] += row["month_count"]
        line["succeeded"] += row["succeeded"]
        line.setdefault("cost", Spend()).add(row, "month")
    return sorted(merged.values(), key=lambda line: (-line["count"], line["name"]))


def _charts(month: datetime, rows: list[dict]) -> list:
    """Try-ons per day, then spend per day in the shop's money (and in any currency that
    has no price): bars drawn on the server."""
    first = month.date()
    counts: dict = defaultdict(int)
    spend: dict = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        counts[row["day"]] += row["count"]
        if row["day_money"] is not None:
            spend[row["shop_currency"]][row["day"]] += row["day_money"]
        else:
            spend[row["cost_currency"]][row["day"]] += row["day_cost"] or 0
    title = str(_("Try-ons per day"))
    charts = [{"title": title, "svg": daily_bars(first, counts, title=title)}]
    for currency in sorted(spend):
        title = str(_("Spend per day (%(currency)s)") % {"currency": currency})
        svg = daily_bars(
            first, spend[currency], title=title, label=lambda amount, c=currency: money(amount, c)
        )
        charts.append({"title": title, "svg": svg})
    return charts


def _days(rows: list[dict]) -> list[dict]:
    days: dict = {}
    for row in rows:
        day = days.setdefault(row["day"], {"day": row["day"], "count": 0, "cost": Spend()})
        day["count"] += row["count"]
        day["cost"].add(row, "day")
    return list(days.values())


def _limits(today: datetime) -> list[dict]:
    """The shop's image limits and budgets beside what has been counted against them.

    Counted usage comes from the usage counters the limits are enforced on: estimates
    reserved when try-ons were created, corrected when providers reported real costs.
    """
    periods = {"day": f"day:{today:%Y-%m-%d}", "month": f"month:{today:%Y-%m}"}
    counters = {
        (row.scope, row.period): row
        for row in UsageCounter.objects.filter(period__in=periods.values()).filter(
            Q(scope=SHOP_SCOPE) | Q(scope__startswith=f"{SHOP_SCOPE}:")
        )
    }
    limits = []
    for label, kind, images_setting, budget_setting in LIMITS:
        period = periods[kind]
        row = counters.get((SHOP_SCOPE, period))
        limits.append(
            _limit(
                label,
                _("images"),
                row.generations if row else 0,
                _optional(images_setting),
                images_setting,
                currency=None,
            )
        )
        budgets = _optional(budget_setting) or {}
        spent_in = {
            scope.split(":", 1)[1]: row.spend
            for (scope, row_period), row in counters.items()
            if row_period == period and scope.startswith(f"{SHOP_SCOPE}:")
        }
        for currency in sorted(set(budgets) | set(spent_in)):
            limits.append(
                _limit(
                    label,
                    currency,
                    spent_in.get(currency, Decimal(0)),
                    budgets.get(currency),
                    budget_setting,
                    currency=currency,
                )
            )
    return limits


def _limit(period, what, used, limit, setting, *, currency) -> dict:
    shown = (lambda v: money(Decimal(str(v)), currency)) if currency else (lambda v: str(v))
    percent = None
    if limit is not None:
        limit_value = Decimal(str(limit))
        used_value = Decimal(str(used))
        percent = 100 if limit_value <= 0 else min(100, int(used_value * 100 / limit_value))
    return {
        "period": period,
        "what": what,
        "used": shown(used),
        "limit": shown(limit) if limit is not None else None,
        "percent": percent,
        "setting": setting,
    }


def _optional(name: str):
    """A setting of the quotas, or None on a version without it."""
    return get_setting(name) if name in DEFAULTS else None


def cost_summary_view(modeladmin, request):
    """The page behind "Cost summary" on the try-on requests list."""
    summary = cost_summary()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Try-on cost"),
        "opts": modeladmin.model._meta,
        "summary": summary,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/django_tryon/cost_summary.html", context)
