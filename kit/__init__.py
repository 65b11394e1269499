"""The kit the tests and the benchmarks share: waiting for a positive end, generated
images, Debian's Chromium for Playwright, statistics, and the processes a run needs
(PostgreSQL, Redis, free ports). Never shipped: the wheel is django_tryon only."""
