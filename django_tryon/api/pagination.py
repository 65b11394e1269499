"""The API's pages: 20 by default, 100 at most, and a 400 for a page parameter that is
not one whole number in range (DRF's own class would answer 404 or 500)."""

from __future__ import annotations

import re

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination

#: A page parameter as written by a client: an optional sign and at most ten digits.
_INTEGER = re.compile(r"-?[0-9]{1,10}")
#: The largest page number the schema allows (a 32-bit integer).
MAX_PAGE = 2**31 - 1


class Pagination(PageNumberPagination):
    """Pages of 20 (``page_size`` up to 100); malformed page parameters are a 400, a page
    past the end a 404."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        errors = {}
        limits = (
            (self.page_query_param, MAX_PAGE),
            (self.page_size_query_param, self.max_page_size),
        )
        for name, highest in limits:
            values = request.query_params.getlist(name)
            if not values:
                continue
            if len(values) > 1 or not _INTEGER.fullmatch(values[0]):
                errors[name] = ["Give one whole number."]
            elif not 1 <= int(values[0]) <= highest:
                errors[name] = [f"Give a number from 1 to {highest}."]
        if errors:
            raise exceptions.ValidationError(errors)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            parameter["schema"]["maximum"] = (
                self.max_page_size if parameter["name"] == self.page_size_query_param else MAX_PAGE
            )
        return parameters
