"""Bar charts drawn on the server as inline SVG: no script, no CDN, readable without colour
(each bar has its number over it and a title; the table beside it has the same figures)."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR = 18  # px per day in the drawing's own units (the SVG scales to its box)
GAP = 4
HEIGHT = 120
TOP = 16  # room for the numbers over the bars
AXIS = 18  # room for the day numbers under them

# One day: its bar (with the exact figure as a title), the number over it, the day under it.
_BAR = (
    '<g><rect x="{}" y="{}" width="{}" height="{}" class="tryon-chart-bar"><title>{}</title>'
    '</rect><text x="{}" y="{}" class="tryon-chart-value">{}</text>'
    '<text x="{}" y="{}" class="tryon-chart-day">{}</text></g>'
)


def daily_bars(
    month: date, values: dict[date, Decimal | int], *, title: str, label=str
) -> SafeString:
    """One bar per day of ``month`` for ``values`` (day -> number), ``label`` formats a
    number for the bar's caption and title."""
    days = calendar.monthrange(month.year, month.month)[1]
    highest = max((v for v in values.values() if v), default=0)
    width = days * (BAR + GAP) + GAP
    bars = []  # the arguments of _BAR, one tuple per day
    for number in range(1, days + 1):
        day = month.replace(day=number)
        value = values.get(day) or 0
        x = GAP + (number - 1) * (BAR + GAP)
        height = 0 if not highest else max(2, round((HEIGHT - TOP - AXIS) * value / highest))
        top = HEIGHT - AXIS - height
        middle = x + BAR / 2
        bars.append(
            (
                x,
                top,
                BAR,
                height,
                f"{date_format(day, 'MONTH_DAY_FORMAT')}: {label(value)}",
                middle,
                top - 3,
                label(value) if value else "",
                middle,
                HEIGHT - 4,
                number if number == 1 or number % 5 == 0 else "",
            )
        )
    busiest = max(values.items(), key=lambda item: item[1], default=None)
    summary = (
        f"{title}: busiest {date_format(busiest[0], 'MONTH_DAY_FORMAT')} with {label(busiest[1])}."
        if busiest and busiest[1]
        else f"{title}: nothing yet."
    )
    return format_html(
        '<svg class="tryon-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        "<title>{}</title>{}"
        '<line x1="0" y1="{}" x2="{}" y2="{}" class="tryon-chart-axis"/></svg>',
        width,
        HEIGHT,
        summary,
        summary,
        format_html_join("", _BAR, bars),
        HEIGHT - AXIS,
        width,
        HEIGHT - AXIS,
    )
