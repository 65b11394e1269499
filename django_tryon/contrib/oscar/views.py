"""Oscar's own add-to-basket, answering the try-on widget in JSON.

Oscar's ``BasketAddView`` (loaded through ``get_class``, so a forked basket app's view is
the one used) does the work: the strategy, availability and stock checks of its form,
``basket.add_product``, Oscar's message and ``basket_addition`` signal, and the basket
cookie (its middleware). Only the answer changes: ``{"added": true, ...}`` with the
basket's new count and total (in Oscar's currency format, for the header), or
``{"added": false, "message": ...}`` with the form's own words, never a redirect.
"""

from __future__ import annotations

from django.http import JsonResponse
from oscar.core.loading import get_class
from oscar.templatetags.currency_filters import currency

BasketAddView = get_class("basket.views", "BasketAddView")


class AddToBasketView(BasketAddView):
    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        data = kwargs["data"].copy()
        data.setdefault("quantity", "1")  # the widget adds one
        kwargs["data"] = data
        return kwargs

    def form_invalid(self, form):
        words = [str(error) for errors in form.errors.values() for error in errors]
        message = " ".join(words) or "This item could not be added to your basket."
        return JsonResponse({"added": False, "message": message}, status=409)

    def form_valid(self, form):
        super().form_valid(form)  # Oscar's add, message and signal; its redirect is not sent
        basket = self.request.basket
        total = basket.total_incl_tax if basket.is_tax_known else basket.total_excl_tax
        return JsonResponse(
            {
                "added": True,
                "quantity": self.line.quantity,
                "basket_count": basket.num_items,
                "basket_total": currency(total, basket.currency),
            }
        )
