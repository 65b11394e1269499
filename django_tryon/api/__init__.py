"""The REST API (Django REST framework), mounted at ``<app prefix>/api/``.

Shoppers create try-ons, poll them and fetch the results; garments and house models are
listed for the widget. Ownership, CSRF, quotas and throttles are enforced here and in
``services``/``quotas``; docs/api.md has the contract and a ``curl`` round trip.
"""
