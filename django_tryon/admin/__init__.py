"""The Django admin for merchandisers.

- ``catalogue``: garments and house model photos, and the bulk action "Try on house models…"
- ``batches``: the batch page (live progress, results, retry failed, approve)
- ``tryons`` and ``request_actions``: try-on requests (retry, refresh, cancel)
- ``results``: try-on results (review and publish)
- ``common``: what those pages share (permissions, filters, the read-only base)
- ``receipts``: callback deliveries, read-only (what each one was for, refused or not)
- ``costs``: the cost summary, today and this month, by provider, against budgets

Importing this package registers every model with the default admin site.
"""

from . import batches, catalogue, receipts, results, tryons  # noqa: F401  (registers the ModelAdmins)
