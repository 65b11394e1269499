"""The Django admin for merchandisers.

- ``catalogue``: garments and house model photos, and the bulk action "Try on house models…"
- ``batches``: the batch page (live progress, results, retry failed, approve)
- ``tryons``: try-on requests (retry, refresh, cancel) and results (review and publish)
- ``receipts``: callback deliveries, read-only (what each one was for, refused or not)
- ``costs``: the cost summary, today and this month, by provider, against budgets

Importing this package registers every model with the default admin site.
"""

from . import batches, catalogue, receipts, tryons  # noqa: F401  (registers the ModelAdmins)
