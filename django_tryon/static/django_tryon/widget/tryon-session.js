/*
 * django-tryon widget: one try-on, from the upload to its end.
 *
 * A session sends the create, follows the request until it is final and cancels it on
 * request; it turns the API's answers into a few events for the element (stage, started,
 * succeeded, failed, unavailable, timedOut) and draws nothing itself.
 * Loaded as a classic script (no build step); it adds window.djangoTryon.TryOnSession.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

  const STAGE_OF_STATUS = {
    pending: "queued",
    submitting: "queued",
    submitted: "queued",
    processing: "generating",
    succeeded: "saving",
  };

  class TryOnSession {
    /**
     * handlers: progress(percent), started(data), stage(stage), estimate(seconds),
     * succeeded(data), failed(code, step, {serverMessage, values, stay}),
     * unavailable(reason, message), timedOut(code: "timeout" or "waiting_for_worker").
     * timeoutMs bounds each spell of waiting.
     */
    constructor(api, timeoutMs, handlers) {
      this._api = api;
      this._timeoutMs = timeoutMs;
      this._on = handlers;
      this._upload = null;
      this._stopFollowing = null;
      this.requestId = null;
      this.stage = "uploading";
    }

    async start(form) {
      await this._api.ready();
      this._upload = this._api.create(form, (percent) => this._on.progress(percent));
      const answer = await this._upload.done;
      this._upload = null;
      if (answer.aborted) {
        return;
      }
      if (answer.status === 0) {
        this._on.failed("network", "upload", {});
        return;
      }
      const data = answer.data;
      if (answer.status >= 200 && answer.status < 300 && data && data.id) {
        this.requestId = data.id;
        this._on.started(data);
        this._estimate(data);
        this.follow(data, answer.etag);
        return;
      }
      this._refused(answer.status, data);
    }

    /** Show data (when given), then poll until the request ends or the wait runs out;
     * ``tag`` is data's ETag, so the first poll can be a cheap one. */
    follow(data, tag) {
      this.stop();
      if (data && this._apply(data)) {
        return;
      }
      const handlers = {
        update: (next) => this._apply(next),
        timeout: () => {
          this.stop();
          this._on.timedOut("timeout");
        },
        error: (code) => this._on.failed(code, "generate", {}),
      };
      this._stopFollowing = this._api.follow(this.requestId, this._timeoutMs, handlers, tag);
    }

    /** Cancel at the shop; the request's final state when known (it may have succeeded). */
    async cancel() {
      this.stop();
      if (this._upload) {
        this._upload.abort();
      }
      return this.requestId ? await this._api.cancel(this.requestId) : null;
    }

    /** Stop following (the request goes on at the shop); an upload in flight goes on too. */
    stop() {
      if (this._stopFollowing) {
        this._stopFollowing();
        this._stopFollowing = null;
      }
    }

    /** The page is leaving: stop following and drop an unfinished upload. */
    abandon() {
      this.stop();
      if (this._upload) {
        this._upload.abort();
      }
    }

    /** Say where the request is; true when it has ended (no more polling). */
    _apply(data) {
      const status = data.status;
      if (status === "succeeded") {
        this.stop();
        this._on.succeeded(data);
        return true;
      }
      if (status === "failed" || status === "cancelled") {
        this.stop();
        const error = data.error || {};
        const code = status === "cancelled" ? "cancelled" : error.code || "provider_failed";
        // The server's words for its own failure codes (django_tryon/messages.py).
        this._on.failed(code, "generate", { serverMessage: error.message, preferServer: true });
        return true;
      }
      if (data.waiting_for_worker) {
        // The shop's try-on service is not running: say so plainly instead of spinning.
        this.stop();
        this._on.timedOut("waiting_for_worker");
        return true;
      }
      const stage = STAGE_OF_STATUS[status] || "queued";
      if (stage !== this.stage) {
        this.stage = stage;
        this._on.stage(stage);
      }
      this._estimate(data);
      return tryon.TERMINAL.has(status);
    }

    /** The shop's own figure for how long this usually takes (usual_seconds), if known. */
    _estimate(data) {
      if (data.usual_seconds && this._on.estimate) {
        this._on.estimate(data.usual_seconds);
      }
    }

    /** A create the shop refused: what to tell the shopper, and whether to hide the button. */
    _refused(status, data) {
      const serverMessage = data && (data.detail || data.message);
      if (status === 429 && data && data.code === "throttled") {
        this._on.failed("throttled", "upload", {}); // a burst limit, not the quota: the button stays
        return;
      }
      if (status === 429 || status === 503) {
        const reason = (data && (data.reason || data.code)) || (status === 503 ? "disabled" : "quota");
        this._on.unavailable(reason, serverMessage || "");
        this._on.failed(tryon.messages.quotaCode(reason), "upload", { serverMessage: serverMessage });
        return;
      }
      if (status === 400 && data && typeof data === "object") {
        const mapped = tryon.messages.mapFieldErrors(data);
        this._on.failed(mapped.code, "upload", { serverMessage: mapped.message, values: mapped.values });
        return;
      }
      if (status === 401 || status === 403) {
        this._on.failed("forbidden", "upload", {});
        return;
      }
      this._on.failed("server", "upload", { serverMessage: serverMessage });
    }
  }

  tryon.TryOnSession = TryOnSession;
})();
