/*
 * The widget's polling as it was before cheap polls (django-tryon 733c300): the first poll
 * after 1 s, then 1.5x longer each time up to every 5 s, each one a full read. The
 * browser benchmark (bench/shown.py) puts it in place of ApiClient.follow, to measure
 * that polling beside today's in the same run. Not shipped to shops.
 */
(function () {
  "use strict";

  const POLL_FIRST_MS = 1000;
  const POLL_MAX_MS = 5000;
  const POLL_FACTOR = 1.5;
  const POLL_THROTTLED_MAX_MS = 30000;
  const MAX_POLL_FAILURES = 8;

  function follow(requestId, timeoutMs, handlers) {
    const path = "requests/" + encodeURIComponent(requestId) + "/";
    const deadline = Date.now() + timeoutMs;
    let stopped = false;
    let timer = null;
    let delay = POLL_FIRST_MS;
    let failures = 0;
    const schedule = () => {
      timer = window.setTimeout(tick, delay);
      delay = Math.min(delay * POLL_FACTOR, POLL_MAX_MS);
    };
    const tick = async () => {
      if (stopped) {
        return;
      }
      if (Date.now() >= deadline) {
        handlers.timeout();
        return;
      }
      let next = null;
      try {
        // As before: no ETag, so nothing the browser could revalidate either.
        const response = await this.send(path, "GET", { cache: "no-store" });
        if (response.status === 429) {
          const wait = parseFloat(response.headers.get("Retry-After") || "") * 1000;
          delay = Math.min(Math.max(delay, wait || POLL_MAX_MS), POLL_THROTTLED_MAX_MS);
        } else if (response.ok) {
          next = await response.json();
          failures = 0;
        } else if (response.status === 404) {
          if (!stopped) {
            handlers.error("not_found");
          }
          return;
        } else {
          failures += 1;
        }
      } catch (error) {
        failures += 1;
      }
      if (stopped) {
        return;
      }
      if (failures >= MAX_POLL_FAILURES) {
        handlers.error("network");
        return;
      }
      if (next && handlers.update(next)) {
        return;
      }
      schedule();
    };
    schedule();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }

  window.djangoTryon.ApiClient.prototype.follow = follow;
})();
