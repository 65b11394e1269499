"""django-tryon benchmarks: ``make bench`` (``python -m bench``).

Every benchmark measures the app's own share of a try-on (upload, queueing, callbacks,
downloads, storage, database) against a baseline measured in the same run, with the
sandbox standing in for the provider at zero generation time. See docs/performance.md.
"""
