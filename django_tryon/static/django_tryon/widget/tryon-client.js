/*
 * django-tryon widget: the client of the shop's own try-on API.
 *
 * Every call goes to the shop's origin with the session cookie and Django's CSRF token;
 * the widget reaches no other host. One client per <tryon-widget>: it reads the element's
 * api, csrf-cookie and csrf-token attributes when it sends, so later changes count.
 * Loaded as a classic script (no build step); it adds window.djangoTryon.ApiClient.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

  const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
  // Polling. Each poll sends the last answer's ETag, and while nothing changed the shop
  // answers 304 from its cache without a database query (django_tryon/polling.py), so
  // the widget can ask often enough to show a result within a few hundred milliseconds.
  const POLL_MS = 300;
  const POLL_HIDDEN_MS = 2000; // a tab nobody looks at need not be quick
  const POLL_LATE_MS = 1500; // past the first minutes a try-on is in no hurry
  const POLL_LATE_AFTER_MS = 120000;
  const FULL_READ_MS = 10000; // a full read this often, whatever the tag says
  const POLL_THROTTLED_MAX_MS = 30000;
  const MAX_POLL_FAILURES = 8;
  // A cancel that meets a request being handed to the provider (409) is asked again.
  const CANCEL_ATTEMPTS = 6;
  const CANCEL_PAUSE_MS = 1000;

  class ApiClient {
    constructor(host) {
      this._host = host;
    }

    get base() {
      const base = this._host.getAttribute("api") || "/tryon/api/";
      return base.endsWith("/") ? base : base + "/";
    }

    /** The shop's allowance for this shopper: {available, reason, message}, or null. */
    async quota() {
      try {
        const response = await this.send("quota/", "GET");
        this._started = this._started || response.ok;
        return response.status === 404 ? null : await response.json();
      } catch (error) {
        return null; // an API without the endpoint, or offline: let the create call decide
      }
    }

    /**
     * Before a first create: the quota read is what starts an anonymous shopper's session
     * (the shop refuses a create from a browser without one), read once if not yet.
     */
    async ready() {
      if (!this._started) {
        await this.quota();
      }
    }

    /** The house models offered to shoppers ([] when none, or when they cannot be read). */
    modelPhotos() {
      return this._list("model-photos/");
    }

    /** The shopper's own finished try-ons kept at the shop, newest first ([] if none). */
    myTryOns() {
      return this._list("requests/?status=succeeded&page_size=50");
    }

    /** A list the API answers, paginated or not; [] when it cannot be read. */
    async _list(path) {
      try {
        const response = await this.send(path, "GET");
        if (!response.ok) {
          return [];
        }
        const data = await response.json();
        return Array.isArray(data) ? data : data.results || [];
      } catch (error) {
        return [];
      }
    }

    /** Erase the shopper's photos and results: {erased, still_running}, or null. */
    async eraseMine() {
      const form = new FormData();
      form.append("confirm", "true");
      try {
        const response = await this.send("requests/erase/", "POST", { body: form });
        return response.ok ? await response.json() : null;
      } catch (error) {
        return null;
      }
    }

    /** The widget's markup, rendered by the shop's Django template; "" when none is offered. */
    async markup(garment, label) {
      const query = new URLSearchParams({ garment: garment });
      if (label) {
        query.set("label", label);
      }
      try {
        const response = await fetch(this.base + "widget/?" + query.toString(), {
          credentials: "same-origin",
          headers: { Accept: "text/html" },
        });
        return response.ok ? await response.text() : "";
      } catch (error) {
        return "";
      }
    }

    /**
     * POST a new try-on with upload progress (fetch cannot report it, XMLHttpRequest can).
     * Returns {done, abort}: done resolves to {status, data, retryAfter, etag}, status 0 when the
     * network failed, or {aborted: true}. Each call sends a fresh Idempotency-Key, so a
     * retried POST of the same create is never charged twice.
     */
    create(form, onProgress) {
      const xhr = new XMLHttpRequest();
      const done = new Promise((resolve) => {
        xhr.open("POST", this.base + "requests/");
        xhr.withCredentials = true;
        xhr.responseType = "text";
        xhr.setRequestHeader("Accept", "application/json");
        xhr.setRequestHeader("X-CSRFToken", this.csrfToken());
        xhr.setRequestHeader("Idempotency-Key", randomKey());
        xhr.setRequestHeader("X-Tryon-Client", "widget"); // the cost page's "Product-page widget"
        xhr.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) {
            onProgress(Math.round((event.loaded / event.total) * 100));
          }
        });
        xhr.addEventListener("load", () => {
          let data = null;
          try {
            data = JSON.parse(xhr.responseText || "null");
          } catch (error) {
            data = null;
          }
          resolve({
            status: xhr.status,
            data: data,
            retryAfter: xhr.getResponseHeader("Retry-After"),
            etag: xhr.getResponseHeader("ETag"),
          });
        });
        xhr.addEventListener("error", () => resolve({ status: 0, data: null, retryAfter: null }));
        xhr.addEventListener("abort", () => resolve({ aborted: true }));
        xhr.send(form);
      });
      return { done: done, abort: () => xhr.abort() };
    }

    /**
     * Poll a try-on until it ends. handlers.update(data) returns true once the request is
     * final; handlers.timeout() when timeoutMs passed first; handlers.error(code) when the
     * request is gone ("not_found") or the shop cannot be reached ("network").
     * ``tag`` is the ETag of the answer already shown (the create's), if any.
     * Returns stop(): after it, no handler is called again.
     */
    follow(requestId, timeoutMs, handlers, tag) {
      const path = "requests/" + encodeURIComponent(requestId) + "/";
      const began = Date.now();
      const deadline = began + timeoutMs;
      let stopped = false;
      let timer = null;
      let etag = tag || null;
      let lastFullRead = began;
      let throttledFor = 0;
      let failures = 0;
      const pause = () => {
        if (throttledFor) {
          return throttledFor;
        }
        if (document.hidden) {
          return POLL_HIDDEN_MS;
        }
        return Date.now() - began > POLL_LATE_AFTER_MS ? POLL_LATE_MS : POLL_MS;
      };
      const schedule = () => {
        timer = window.setTimeout(tick, pause());
      };
      const tick = async () => {
        if (stopped) {
          return;
        }
        if (Date.now() >= deadline) {
          handlers.timeout();
          return;
        }
        // A full read at least every ten seconds: a status version the cache lost or kept
        // too long (two writers racing) costs the shopper seconds, never a stuck page.
        const conditional = etag && Date.now() - lastFullRead < FULL_READ_MS;
        let next = null;
        throttledFor = 0;
        try {
          const response = await this.send(path, "GET", {
            cache: "no-store", // the widget compares tags itself
            headers: conditional ? { "If-None-Match": etag } : {},
          });
          if (response.status === 304) {
            failures = 0;
          } else if (response.status === 429) {
            const wait = parseFloat(response.headers.get("Retry-After") || "") * 1000;
            throttledFor = Math.min(Math.max(wait || POLL_LATE_MS, POLL_MS), POLL_THROTTLED_MAX_MS);
          } else if (response.ok) {
            next = await response.json();
            etag = response.headers.get("ETag");
            lastFullRead = Date.now();
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

    /** Cancel a try-on; its final state when known (it may have succeeded first), else null. */
    async cancel(requestId) {
      const path = "requests/" + encodeURIComponent(requestId) + "/";
      for (let attempt = 0; attempt < CANCEL_ATTEMPTS; attempt += 1) {
        try {
          const response = await this.send(path + "cancel/", "POST");
          if (response.ok) {
            return await response.json();
          }
          if (response.status !== 409) {
            return null;
          }
          const current = await this.send(path, "GET");
          const data = current.ok ? await current.json() : null;
          if (!data || TERMINAL.has(data.status)) {
            return data;
          }
        } catch (error) {
          return null;
        }
        await new Promise((resolve) => window.setTimeout(resolve, CANCEL_PAUSE_MS));
      }
      return null;
    }

    /**
     * POST the shop's add-to-cart URL. Resolves to {added: true, data} only when the shop
     * answered 2xx with JSON, without a redirect, and did not say {"added": false}; else
     * {added: false, message} (the shop's words when its JSON has a "message"). A redirect
     * (a form view sending the browser back to the page), HTML or an error is never
     * taken for an item in the cart. Never throws.
     */
    async addToCart(url) {
      let response;
      try {
        response = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          redirect: "manual",
          headers: { Accept: "application/json", "X-CSRFToken": this.csrfToken() },
        });
      } catch (error) {
        return { added: false, message: "" };
      }
      const json = (response.headers.get("Content-Type") || "").includes("application/json");
      const data = json ? await response.json().catch(() => null) : null;
      const said = data && typeof data === "object" ? data : {};
      const message = typeof said.message === "string" ? said.message : ""; // words for the shopper
      if (response.type === "opaqueredirect" || response.redirected || !response.ok || !data) {
        return { added: false, message: message };
      }
      return said.added === false ? { added: false, message: message } : { added: true, data: data };
    }

    /**
     * Count one funnel step at the shop. Sent with keepalive, so a step reported as the
     * page is left (the shop's own cart form) still arrives; never throws.
     */
    countStep(step, garment, requestId) {
      const form = new FormData();
      form.append("step", step);
      form.append("garment", garment);
      if (requestId) {
        form.append("request", requestId);
      }
      return this.send("funnel/", "POST", { body: form, keepalive: true }).catch(() => null);
    }

    /** A JSON call to the API; unsafe methods carry the CSRF token. ``options`` adds to
     * fetch's (a body, keepalive, more headers). */
    send(path, method, options) {
      const { headers: more, ...extra } = options || {};
      // Every call says it is the widget's: the shop's route for the widget prices the
      // quota answer, and the cost page counts its try-ons as the widget's.
      const headers = Object.assign({ Accept: "application/json", "X-Tryon-Client": "widget" }, more);
      if (method !== "GET") {
        headers["X-CSRFToken"] = this.csrfToken();
      }
      return fetch(
        this.base + path,
        Object.assign({ method: method, credentials: "same-origin", headers: headers }, extra)
      );
    }

    /** Django's CSRF token: from its cookie, else from the csrf-token attribute. */
    csrfToken() {
      const name = this._host.getAttribute("csrf-cookie") || "csrftoken";
      const cookie = document.cookie
        .split(";")
        .map((part) => part.trim())
        .find((part) => part.startsWith(name + "="));
      if (cookie) {
        return decodeURIComponent(cookie.slice(name.length + 1));
      }
      return this._host.getAttribute("csrf-token") || "";
    }
  }

  function randomKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  tryon.ApiClient = ApiClient;
  tryon.TERMINAL = TERMINAL;
})();
