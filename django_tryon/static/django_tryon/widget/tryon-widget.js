/*
 * django-tryon product-page widget: <tryon-widget garment="UUID" api="/tryon/api/">.
 *
 * Plain JavaScript (ES2020), no build step, no framework, no network access beyond the
 * shop's own API. Load Django's JavaScript catalog first for translations:
 *
 *   <script src="/tryon/jsi18n/" defer></script>
 *   <script src="/static/django_tryon/widget/tryon-widget.js" defer></script>
 *
 * Light DOM, not shadow DOM: the markup may come from the overridable Django template
 * (django_tryon/widget.html) or, when the element is empty, from defaultMarkup() below;
 * shop stylesheets, label/for pairs, form controls and the shop's analytics all see the
 * real elements. Styling goes through --tryon-* custom properties (tryon-widget.css).
 *
 * Privacy: the shopper's photo is resized and re-encoded in memory (which also drops its
 * EXIF/GPS metadata), uploaded once, and shown back only through an object URL that is
 * revoked afterwards. Nothing is written to localStorage, sessionStorage or cookies.
 */
(function () {
  "use strict";

  if (!window.customElements || window.customElements.get("tryon-widget")) {
    return;
  }

  // -- i18n: Django's JavaScriptCatalog defines django.gettext; without it, English. ------

  function gettext(text) {
    const django = window.django;
    return django && typeof django.gettext === "function" ? django.gettext(text) : text;
  }

  function ngettext(singular, plural, count) {
    const django = window.django;
    if (django && typeof django.ngettext === "function") {
      return django.ngettext(singular, plural, count);
    }
    return count === 1 ? singular : plural;
  }

  /** Replace %(name)s placeholders and %% (a literal %), as Python's % operator does. */
  function interpolate(format, values) {
    return format.replace(/%\((\w+)\)s|%%/g, (match, key) => {
      if (match === "%%") {
        return "%";
      }
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  // -- constants ------------------------------------------------------------------------

  const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
  const STAGE_OF_STATUS = {
    pending: "queued",
    submitting: "queued",
    submitted: "queued",
    processing: "generating",
    succeeded: "saving",
  };
  const POLL_FIRST_MS = 1000;
  const POLL_MAX_MS = 5000;
  const POLL_FACTOR = 1.5;
  const MAX_POLL_FAILURES = 8;
  const FOCUSABLE =
    'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  let instances = 0;

  class TryOnWidget extends HTMLElement {
    constructor() {
      super();
      this._state = "idle"; // idle | preparing | uploading | waiting | result
      this._requestId = null;
      this._pollTimer = null;
      this._pollToken = 0;
      this._beforeUrl = null; // object URL of the shopper's resized photo
      this._lastFocus = null;
      this._idempotencyKey = null;
      this._result = null;
      this._available = true;
      this._modelsLoaded = false;
      this._startedAt = 0;
      this._xhr = null;
    }

    // -- attributes ----------------------------------------------------------------------

    get garment() {
      return this.getAttribute("garment") || "";
    }

    get apiBase() {
      const base = this.getAttribute("api") || "/tryon/api/";
      return base.endsWith("/") ? base : base + "/";
    }

    _intAttr(name, fallback) {
      const value = parseInt(this.getAttribute(name) || "", 10);
      return Number.isFinite(value) && value > 0 ? value : fallback;
    }

    _floatAttr(name, fallback) {
      const value = parseFloat(this.getAttribute(name) || "");
      return Number.isFinite(value) && value > 0 ? value : fallback;
    }

    get minSide() {
      return this._intAttr("min-side", 300);
    }

    get maxSide() {
      return this._intAttr("max-side", 2048);
    }

    get timeoutMs() {
      return this._floatAttr("timeout-seconds", 180) * 1000;
    }

    // -- lifecycle -----------------------------------------------------------------------

    connectedCallback() {
      if (this._built) {
        return; // moved within the page: keep its state and listeners
      }
      this._built = true;
      this._uid = "tryon-" + ++instances;
      if (!this.querySelector('[data-tryon-part="dialog"]')) {
        this.innerHTML = defaultMarkup(this._uid, this);
      }
      this._bind();
      this.classList.add("tryon-ready");
      if (this.getAttribute("check-quota") !== "off") {
        this._checkAvailability();
      }
    }

    disconnectedCallback() {
      // Removed from the page (a moved element is reconnected at once, in the same task).
      window.queueMicrotask(() => {
        if (this.isConnected) {
          return;
        }
        this._stopPolling();
        if (this._xhr) {
          this._xhr.abort();
        }
        this._revokeBefore();
      });
    }

    _part(name) {
      return this.querySelector('[data-tryon-part="' + name + '"]');
    }

    _bind() {
      const p = (name) => this._part(name);
      this._el = {
        open: p("open"),
        dialog: p("dialog"),
        close: p("close"),
        live: p("live"),
        error: p("error"),
        consent: p("consent"),
        choose: p("choose"),
        camera: p("camera"),
        file: p("file"),
        cameraFile: p("camera-file"),
        models: p("models"),
        modelList: p("model-list"),
        stages: p("stages"),
        cancel: p("cancel"),
        keepWaiting: p("keep-waiting"),
        compare: p("compare"),
        before: p("before"),
        after: p("after"),
        slider: p("slider"),
        addToCart: p("add-to-cart"),
        download: p("download"),
        again: p("again"),
        cartStatus: p("cart-status"),
      };
      const el = this._el;
      el.open.hidden = false;
      el.open.addEventListener("click", () => this.open());
      el.close.addEventListener("click", () => this.close());
      el.dialog.addEventListener("cancel", (event) => {
        // Escape: run our own close (events, focus return) instead of the bare one.
        event.preventDefault();
        this.close();
      });
      el.dialog.addEventListener("close", () => this._afterClose());
      el.dialog.addEventListener("keydown", (event) => this._trapFocus(event));
      el.dialog.addEventListener("click", (event) => {
        if (event.target === el.dialog) {
          this.close(); // a click on the backdrop
        }
      });
      el.consent.checked = false; // never pre-ticked, not even by form restoration
      el.consent.addEventListener("change", () => this._onConsent());
      el.choose.addEventListener("click", () => el.file.click());
      el.file.addEventListener("change", () => this._onFile(el.file));
      if (el.camera && el.cameraFile) {
        const coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
        el.camera.hidden = !coarse;
        el.camera.addEventListener("click", () => el.cameraFile.click());
        el.cameraFile.addEventListener("change", () => this._onFile(el.cameraFile));
      }
      el.cancel.addEventListener("click", () => this._cancel());
      el.keepWaiting.addEventListener("click", () => this._keepWaiting());
      el.again.addEventListener("click", () => this._reset({ focus: true }));
      el.slider.addEventListener("input", () => this._setSplit(el.slider.value));
      el.download.addEventListener("click", () => {
        this._emit("download", {
          requestId: this._requestId,
          url: el.download.getAttribute("href"),
        });
      });
      const wantsCart = this.hasAttribute("add-to-cart-url") || this.hasAttribute("add-to-cart");
      el.addToCart.hidden = !wantsCart;
      el.addToCart.addEventListener("click", () => this._addToCart());
      this._onConsent({ silent: true });
      this._showStep("choose");
    }

    // -- public API ----------------------------------------------------------------------

    /** Open the dialog (what the "Try it on" button does). */
    open() {
      const dialog = this._el.dialog;
      if (dialog.open || !this._available) {
        return;
      }
      this._lastFocus = document.activeElement;
      if (typeof dialog.showModal === "function") {
        dialog.showModal();
      } else {
        dialog.setAttribute("open", "");
      }
      this._emit("open", {});
      this._loadModels();
      this._focusFirst();
    }

    /** Close the dialog; a try-on in progress keeps going and is shown when reopened. */
    close() {
      const dialog = this._el.dialog;
      if (!dialog.open) {
        return;
      }
      if (typeof dialog.close === "function") {
        dialog.close();
      } else {
        dialog.removeAttribute("open");
        this._afterClose();
      }
    }

    _afterClose() {
      this._emit("close", { requestId: this._requestId });
      const target = this._lastFocus;
      this._lastFocus = null;
      if (!this._available) {
        this._hideButton();
      }
      const back = target && target.isConnected && !target.hidden ? target : this._el.open;
      if (back && !back.hidden && typeof back.focus === "function") {
        back.focus();
      }
    }

    // -- availability (the shop's budget and the shopper's quota) --------------------------

    async _checkAvailability() {
      let data;
      try {
        const response = await this._fetch("quota/", { method: "GET" });
        if (response.status === 404) {
          return; // an API without the endpoint: let the create call decide
        }
        data = await response.json();
      } catch (error) {
        return;
      }
      if (data && data.available === false) {
        this._markUnavailable(data.reason || "quota", data.message || "");
      }
    }

    _markUnavailable(reason, message) {
      if (!this._available) {
        return;
      }
      this._available = false;
      this._emit("unavailable", { reason: reason, message: message });
      if (!this._el.dialog.open) {
        this._hideButton();
      }
    }

    _hideButton() {
      this._el.open.hidden = true;
      this.classList.add("tryon-unavailable");
    }

    // -- step 1: consent and photo ---------------------------------------------------------

    _onConsent(options) {
      const given = this._el.consent.checked;
      this._el.choose.disabled = !given;
      if (this._el.camera) {
        this._el.camera.disabled = !given;
      }
      if (!(options && options.silent)) {
        this._emit("consent", { given: given });
      }
    }

    async _onFile(input) {
      const file = input.files && input.files[0];
      input.value = ""; // the same file may be chosen again after an error
      if (!file || this._busy()) {
        return;
      }
      if (!this._el.consent.checked) {
        this._fail("consent_required", "choose");
        return;
      }
      this._clearError();
      this._state = "preparing";
      let photo;
      try {
        photo = await preparePhoto(file, {
          maxSide: this.maxSide,
          minSide: this.minSide,
          quality: this._floatAttr("jpeg-quality", 0.9),
        });
      } catch (error) {
        this._state = "idle";
        this._fail(error.code || "not_an_image", "choose", { values: error.values });
        return;
      }
      this._revokeBefore();
      this._beforeUrl = photo.previewUrl;
      this._emit("upload", {
        source: "photo",
        width: photo.width,
        height: photo.height,
        bytes: photo.blob.size,
        resized: photo.resized,
      });
      const form = new FormData();
      form.append("garment", this.garment);
      form.append("person_image", photo.blob, photo.name);
      form.append("consent", "true");
      this._create(form);
    }

    // -- house models ------------------------------------------------------------------------

    async _loadModels() {
      const mode = this.getAttribute("house-models") || "auto";
      if (this._modelsLoaded || mode === "off" || !this._el.models) {
        return;
      }
      this._modelsLoaded = true;
      let photos = [];
      try {
        const response = await this._fetch("model-photos/", { method: "GET" });
        if (!response.ok) {
          return;
        }
        const data = await response.json();
        photos = Array.isArray(data) ? data : data.results || [];
      } catch (error) {
        return;
      }
      const list = this._el.modelList;
      list.textContent = "";
      photos.forEach((photo) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "tryon-model";
        button.dataset.modelPhoto = photo.id;
        const image = document.createElement("img");
        image.src = photo.image_url || photo.url || photo.image || "";
        image.alt = "";
        image.loading = "lazy";
        image.decoding = "async";
        const name = document.createElement("span");
        name.className = "tryon-model__name";
        name.textContent = photo.name || gettext("House model");
        button.setAttribute(
          "aria-label",
          interpolate(gettext("Try it on %(name)s"), { name: photo.name || gettext("a model") })
        );
        button.append(image, name);
        button.addEventListener("click", () => this._onModel(photo, image.src));
        item.append(button);
        list.append(item);
      });
      this._el.models.hidden = photos.length === 0;
    }

    _onModel(photo, imageUrl) {
      if (this._busy()) {
        return;
      }
      this._clearError();
      this._revokeBefore();
      this._beforeUrl = null;
      this._beforeSrc = imageUrl;
      this._emit("upload", { source: "model", modelPhoto: photo.id });
      const form = new FormData();
      form.append("garment", this.garment);
      form.append("model_photo", photo.id);
      this._create(form);
    }

    // -- step 2: create and follow ---------------------------------------------------------

    _busy() {
      return this._state === "preparing" || this._state === "uploading" || this._state === "waiting";
    }

    _create(form) {
      this._state = "uploading";
      this._idempotencyKey = randomKey();
      this._showStep("progress");
      this._setStage("uploading");
      this._el.cancel.hidden = true; // nothing to cancel until the server has it
      this._el.keepWaiting.hidden = true;
      this._announce(gettext("Uploading your photo…"));
      this._startedAt = Date.now();
      const xhr = new XMLHttpRequest();
      this._xhr = xhr;
      xhr.open("POST", this.apiBase + "requests/");
      xhr.withCredentials = true;
      xhr.responseType = "text";
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", this._csrfToken());
      xhr.setRequestHeader("Idempotency-Key", this._idempotencyKey);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) {
          const percent = Math.round((event.loaded / event.total) * 100);
          this._stageDetail("uploading", interpolate(gettext("%(percent)s%%"), { percent }));
        }
      });
      xhr.addEventListener("load", () => {
        this._xhr = null;
        let data = null;
        try {
          data = JSON.parse(xhr.responseText || "null");
        } catch (error) {
          data = null;
        }
        this._onCreated(xhr.status, data, xhr.getResponseHeader("Retry-After"));
      });
      xhr.addEventListener("error", () => {
        this._xhr = null;
        this._state = "idle";
        this._fail("network", "upload");
      });
      xhr.addEventListener("abort", () => {
        this._xhr = null;
      });
      xhr.send(form);
    }

    _onCreated(status, data, retryAfter) {
      if (status >= 200 && status < 300 && data && data.id) {
        this._requestId = data.id;
        this._state = "waiting";
        this._el.cancel.hidden = false;
        this._emit("start", { requestId: data.id, status: data.status });
        this._follow(data);
        return;
      }
      this._state = "idle";
      if (status === 429 && data && data.code === "throttled") {
        this._fail("throttled", "upload"); // a burst limit, not the quota: the button stays
        return;
      }
      if (status === 429 || status === 503) {
        const reason = (data && (data.reason || data.code)) || (status === 503 ? "disabled" : "quota");
        this._markUnavailable(reason, (data && (data.detail || data.message)) || "");
        this._fail(quotaCode(reason), "upload", { serverMessage: data && (data.detail || data.message) });
        return;
      }
      if (status === 400 && data && typeof data === "object") {
        const mapped = mapFieldErrors(data);
        this._fail(mapped.code, "upload", { serverMessage: mapped.message, values: mapped.values });
        return;
      }
      if (status === 401 || status === 403) {
        this._fail("forbidden", "upload");
        return;
      }
      this._fail("server", "upload", { serverMessage: data && (data.detail || data.message) });
    }

    _follow(data) {
      this._stopPolling();
      const token = ++this._pollToken;
      const deadline = Date.now() + this.timeoutMs;
      let delay = POLL_FIRST_MS;
      let failures = 0;
      const tick = async () => {
        if (token !== this._pollToken) {
          return;
        }
        if (Date.now() >= deadline) {
          this._timedOut();
          return;
        }
        let next = null;
        try {
          const response = await this._fetch("requests/" + encodeURIComponent(this._requestId) + "/", {
            method: "GET",
          });
          if (response.status === 429) {
            const wait = parseFloat(response.headers.get("Retry-After") || "") * 1000;
            delay = Math.min(Math.max(delay, wait || POLL_MAX_MS), 30000);
          } else if (response.ok) {
            next = await response.json();
            failures = 0;
          } else if (response.status === 404) {
            this._fail("not_found", "generate");
            this._state = "idle";
            return;
          } else {
            failures += 1;
          }
        } catch (error) {
          failures += 1;
        }
        if (token !== this._pollToken) {
          return;
        }
        if (failures >= MAX_POLL_FAILURES) {
          this._state = "idle";
          this._fail("network", "generate");
          return;
        }
        if (next && this._apply(next)) {
          return;
        }
        this._pollTimer = window.setTimeout(tick, delay);
        delay = Math.min(delay * POLL_FACTOR, POLL_MAX_MS);
      };
      if (!data || !this._apply(data)) {
        this._pollTimer = window.setTimeout(tick, delay);
        delay = Math.min(delay * POLL_FACTOR, POLL_MAX_MS);
      }
    }

    /** Show where the request is; true when it has ended (no more polling). */
    _apply(data) {
      const status = data.status;
      if (status === "succeeded") {
        this._stopPolling();
        this._succeeded(data);
        return true;
      }
      if (status === "failed" || status === "cancelled") {
        this._stopPolling();
        this._state = "idle";
        const error = data.error || {};
        const code = status === "cancelled" ? "cancelled" : error.code || "provider_failed";
        this._fail(code, "generate", { serverMessage: error.message });
        return true;
      }
      const stage = STAGE_OF_STATUS[status] || "queued";
      if (stage !== this._stage) {
        this._setStage(stage);
        this._announce(stageText(stage));
      }
      return TERMINAL.has(status);
    }

    async _succeeded(data) {
      const results = Array.isArray(data.results) ? data.results : [];
      const first = results[0];
      if (!first || !first.url) {
        this._state = "idle";
        this._fail("no_result", "generate");
        return;
      }
      this._setStage("saving");
      this._announce(stageText("saving"));
      await preload(first.url);
      this._state = "result";
      this._result = first;
      const el = this._el;
      el.after.src = first.url;
      if (first.width && first.height) {
        el.compare.style.setProperty("--tryon-aspect", first.width + " / " + first.height);
        el.compare.style.setProperty("--tryon-ratio", String(first.width / first.height));
      }
      const before = this._beforeUrl || this._beforeSrc || "";
      el.before.src = before;
      el.compare.classList.toggle("tryon-compare--single", !before);
      el.slider.hidden = !before;
      el.slider.value = "50";
      this._setSplit(50);
      el.download.href = first.url;
      el.download.setAttribute("download", downloadName(this.getAttribute("garment-name")));
      el.cartStatus.textContent = "";
      el.addToCart.disabled = false;
      this._showStep("result");
      this._announce(gettext("Your try-on is ready."));
      this._emit("success", {
        requestId: this._requestId,
        results: results,
        seconds: Math.round((Date.now() - this._startedAt) / 100) / 10,
      });
      if (this._el.dialog.open) {
        (el.addToCart.hidden ? el.download : el.addToCart).focus();
      }
    }

    _timedOut() {
      this._stopPolling();
      this._fail("timeout", "generate", { stay: true });
      this._el.keepWaiting.hidden = false;
      this._el.cancel.hidden = false;
      this._el.keepWaiting.focus();
    }

    _keepWaiting() {
      this._el.keepWaiting.hidden = true;
      this._clearError();
      this._announce(stageText(this._stage || "queued"));
      this._follow(null);
      this._el.cancel.focus();
    }

    async _cancel() {
      const id = this._requestId;
      this._stopPolling();
      if (this._xhr) {
        this._xhr.abort();
      }
      this._el.cancel.disabled = true;
      const data = id ? await this._cancelOnServer(id) : null;
      this._el.cancel.disabled = false;
      if (data && data.status === "succeeded") {
        this._succeeded(data); // it finished first: show it rather than throw it away
        return;
      }
      this._emit("cancel", { requestId: id });
      this._state = "idle";
      this._reset({ focus: true });
      this._announce(gettext("Try-on cancelled."));
    }

    /** POST cancel; a request being handed to the provider right now answers 409: retry. */
    async _cancelOnServer(id) {
      const path = "requests/" + encodeURIComponent(id) + "/";
      for (let attempt = 0; attempt < 6; attempt += 1) {
        try {
          const response = await this._fetch(path + "cancel/", { method: "POST" });
          if (response.ok) {
            return await response.json();
          }
          if (response.status !== 409) {
            return null;
          }
          const current = await this._fetch(path, { method: "GET" });
          const data = current.ok ? await current.json() : null;
          if (!data || TERMINAL.has(data.status)) {
            return data;
          }
        } catch (error) {
          return null;
        }
        await new Promise((resolve) => window.setTimeout(resolve, 1000));
      }
      return null;
    }

    _stopPolling() {
      this._pollToken += 1;
      if (this._pollTimer) {
        window.clearTimeout(this._pollTimer);
        this._pollTimer = null;
      }
    }

    // -- step 3: result ----------------------------------------------------------------------

    _setSplit(value) {
      this._el.compare.style.setProperty("--tryon-split", value + "%");
      this._el.slider.setAttribute(
        "aria-valuetext",
        interpolate(gettext("%(percent)s%% of your photo shown"), { percent: Math.round(value) })
      );
    }

    async _addToCart() {
      const detail = {
        requestId: this._requestId,
        resultUrl: this._result && this._result.url,
        url: this.getAttribute("add-to-cart-url") || null,
      };
      const proceed = this._emit("add-to-cart", detail, { cancelable: true });
      if (!proceed || !detail.url) {
        return; // the shop handles it (preventDefault, or no URL given)
      }
      const button = this._el.addToCart;
      button.disabled = true;
      try {
        const response = await fetch(detail.url, {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRFToken": this._csrfToken() },
        });
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        const data = await response.json().catch(() => ({}));
        this._el.cartStatus.textContent = gettext("Added to your cart.");
        this._emit("added-to-cart", { requestId: this._requestId, response: data });
      } catch (error) {
        this._el.cartStatus.textContent = gettext("This could not be added to your cart. Please try again.");
        this._emit("error", { requestId: this._requestId, code: "add_to_cart", stage: "add-to-cart" });
      } finally {
        button.disabled = false;
      }
    }

    _reset(options) {
      this._stopPolling();
      this._state = "idle";
      this._requestId = null;
      this._result = null;
      this._revokeBefore();
      this._beforeSrc = null;
      const el = this._el;
      el.after.removeAttribute("src");
      el.before.removeAttribute("src");
      el.download.removeAttribute("href");
      el.keepWaiting.hidden = true;
      this._clearError();
      this._showStep("choose");
      if (options && options.focus && el.dialog.open) {
        this._focusFirst();
      }
    }

    _revokeBefore() {
      if (this._beforeUrl) {
        URL.revokeObjectURL(this._beforeUrl);
        this._beforeUrl = null;
      }
    }

    // -- display helpers -------------------------------------------------------------------

    _showStep(name) {
      this.querySelectorAll("[data-tryon-step]").forEach((section) => {
        section.hidden = section.getAttribute("data-tryon-step") !== name;
      });
      this._step = name;
      this._el.dialog.setAttribute("data-tryon-state", name);
    }

    _setStage(stage) {
      this._stage = stage;
      const order = ["uploading", "queued", "generating", "saving"];
      const at = order.indexOf(stage);
      this._el.stages.querySelectorAll("[data-stage]").forEach((item) => {
        const index = order.indexOf(item.getAttribute("data-stage"));
        item.classList.toggle("tryon-stage--done", index < at);
        item.classList.toggle("tryon-stage--current", index === at);
        if (index === at) {
          item.setAttribute("aria-current", "step");
        } else {
          item.removeAttribute("aria-current");
        }
        const detail = item.querySelector(".tryon-stage__detail");
        if (detail && index !== at) {
          detail.textContent = "";
        }
      });
      this._el.dialog.setAttribute("data-tryon-stage", stage);
    }

    _stageDetail(stage, text) {
      const item = this._el.stages.querySelector('[data-stage="' + stage + '"] .tryon-stage__detail');
      if (item) {
        item.textContent = text;
      }
    }

    _announce(text) {
      // Clear, then set on the next frame, so repeating a message is announced again.
      const live = this._el.live;
      live.textContent = "";
      window.setTimeout(() => {
        live.textContent = text;
      }, 30);
    }

    _fail(code, stage, options) {
      const opts = options || {};
      const message = errorText(code, {
        serverMessage: opts.serverMessage,
        values: Object.assign({ min: this.minSide }, opts.values || {}),
      });
      if (!opts.stay) {
        this._showStep("choose");
      }
      const box = this._el.error;
      box.textContent = message;
      box.hidden = false;
      this._emit("error", { requestId: this._requestId, code: code, message: message, stage: stage });
      if (!opts.stay && this._el.dialog.open) {
        box.focus();
      }
    }

    _clearError() {
      this._el.error.hidden = true;
      this._el.error.textContent = "";
    }

    _focusFirst() {
      const focusables = this._focusables();
      const target = focusables.find((node) => node !== this._el.close) || this._el.close;
      if (target) {
        target.focus();
      }
    }

    _focusables() {
      return Array.from(this._el.dialog.querySelectorAll(FOCUSABLE)).filter(
        (node) => node.tabIndex >= 0 && !node.closest("[hidden]") && node.getClientRects().length > 0
      );
    }

    _trapFocus(event) {
      if (event.key !== "Tab") {
        return;
      }
      const nodes = this._focusables();
      if (nodes.length === 0) {
        event.preventDefault();
        return;
      }
      const first = nodes[0];
      const last = nodes[nodes.length - 1];
      const active = document.activeElement;
      const inside = this._el.dialog.contains(active);
      if (event.shiftKey && (active === first || !inside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !inside)) {
        event.preventDefault();
        first.focus();
      }
    }

    _emit(name, detail, options) {
      const event = new CustomEvent("tryon:" + name, {
        bubbles: true,
        composed: true,
        cancelable: Boolean(options && options.cancelable),
        detail: Object.assign({ garment: this.garment }, detail),
      });
      return this.dispatchEvent(event);
    }

    // -- HTTP ------------------------------------------------------------------------------

    _fetch(path, init) {
      const headers = { Accept: "application/json" };
      if (init.method !== "GET") {
        headers["X-CSRFToken"] = this._csrfToken();
      }
      return fetch(this.apiBase + path, {
        method: init.method,
        credentials: "same-origin",
        headers: headers,
        body: init.body,
      });
    }

    _csrfToken() {
      const name = this.getAttribute("csrf-cookie") || "csrftoken";
      const cookie = document.cookie
        .split(";")
        .map((part) => part.trim())
        .find((part) => part.startsWith(name + "="));
      if (cookie) {
        return decodeURIComponent(cookie.slice(name.length + 1));
      }
      return this.getAttribute("csrf-token") || "";
    }
  }

  // -- photo preparation ---------------------------------------------------------------------

  class PhotoError extends Error {
    constructor(code, values) {
      super(code);
      this.code = code;
      this.values = values || {};
    }
  }

  /**
   * Decode (honouring EXIF orientation), check the size, scale the long side down to
   * maxSide and re-encode as JPEG. Files the browser cannot decode are sent as they are,
   * so the server can say exactly what is wrong (HEIC, damaged, not an image).
   */
  async function preparePhoto(file, options) {
    if (file.type && !file.type.startsWith("image/")) {
      throw new PhotoError("not_an_image");
    }
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (error) {
      return {
        blob: file,
        name: file.name || "photo",
        width: 0,
        height: 0,
        resized: false,
        previewUrl: null,
      };
    }
    const width = bitmap.width;
    const height = bitmap.height;
    if (Math.min(width, height) < options.minSide) {
      bitmap.close();
      throw new PhotoError("too_small", { width: width, height: height });
    }
    // Never scale the short side below minSide, whatever the long side says.
    const scale = Math.min(
      1,
      Math.max(options.maxSide / Math.max(width, height), options.minSide / Math.min(width, height))
    );
    const outWidth = Math.round(width * scale);
    const outHeight = Math.round(height * scale);
    const canvas = document.createElement("canvas");
    canvas.width = outWidth;
    canvas.height = outHeight;
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff"; // transparent PNG areas become white, not black
    context.fillRect(0, 0, outWidth, outHeight);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, outWidth, outHeight);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", options.quality));
    canvas.width = canvas.height = 0;
    if (!blob) {
      throw new PhotoError("not_an_image");
    }
    return {
      blob: blob,
      name: "photo.jpg",
      width: outWidth,
      height: outHeight,
      resized: scale < 1,
      previewUrl: URL.createObjectURL(blob),
    };
  }

  function preload(url) {
    return new Promise((resolve) => {
      const image = new Image();
      image.onload = image.onerror = () => resolve();
      image.src = url;
    });
  }

  function randomKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function downloadName(garmentName) {
    const slug = (garmentName || "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "");
    return "try-on" + (slug ? "-" + slug : "") + ".png";
  }

  // -- messages ------------------------------------------------------------------------------

  function stageText(stage) {
    switch (stage) {
      case "uploading":
        return gettext("Uploading your photo…");
      case "queued":
        return gettext("Waiting for the try-on service…");
      case "generating":
        return gettext("Creating your image…");
      case "saving":
        return gettext("Saving your result…");
      default:
        return "";
    }
  }

  function quotaCode(reason) {
    if (reason === "shopper_daily") {
      return "quota_shopper";
    }
    if (reason === "disabled") {
      return "disabled";
    }
    return "quota_shop";
  }

  /** Turn a DRF 400 body ({field: [messages]}) into one of our codes, keeping the text. */
  function mapFieldErrors(body) {
    const pick = (value) => (Array.isArray(value) ? value.map(String).join(" ") : value ? String(value) : "");
    const person = pick(body.person_image);
    if (body.consent) {
      return { code: "consent_required", message: pick(body.consent) };
    }
    if (person) {
      if (/too small|too long and narrow/i.test(person)) {
        return { code: "too_small", message: person };
      }
      if (/too large|too many pixels/i.test(person)) {
        return { code: "too_large", message: person };
      }
      if (/HEIC/i.test(person)) {
        return { code: "heic", message: person };
      }
      if (/not an image|not accepted|damaged|incomplete|read/i.test(person)) {
        return { code: "not_an_image", message: person };
      }
      return { code: "invalid_photo", message: person };
    }
    const fields = Object.keys(body).filter((key) => key !== "code");
    const first = fields.length ? pick(body[fields[0]]) : "";
    if (body.garment || body.lower_garment) {
      return { code: "garment_unavailable", message: pick(body.garment || body.lower_garment) };
    }
    return { code: "invalid", message: first };
  }

  function errorText(code, options) {
    const values = options.values || {};
    const server = options.serverMessage;
    switch (code) {
      case "consent_required":
        return gettext("Please tick the box to agree before choosing a photo.");
      case "too_small":
        if (values.width && values.height) {
          return interpolate(
            gettext(
              "This photo is too small (%(width)s × %(height)s pixels). Please choose a photo at least %(min)s pixels on each side."
            ),
            values
          );
        }
        return interpolate(
          gettext("This photo is too small. Please choose a photo at least %(min)s pixels on each side."),
          values
        );
      case "too_large":
      case "too_large_file":
      case "too_many_pixels":
        return gettext("This photo is too large. Please choose a smaller photo.");
      case "heic":
        return gettext(
          "HEIC photos can't be used. Please choose a JPEG or PNG photo (on an iPhone, export the photo as JPEG)."
        );
      case "not_an_image":
      case "unsupported_format":
      case "truncated":
      case "invalid_input":
        return gettext("This file isn't a photo we can use. Please choose a JPEG, PNG or WebP photo.");
      case "content_refused":
        return gettext(
          "The try-on service couldn't use this photo under its content rules. Please try a different photo."
        );
      case "quota_shopper":
        return gettext("You've used all of today's try-ons. Please come back tomorrow.");
      case "quota_shop":
      case "disabled":
        return gettext("Virtual try-on isn't available right now. Please try again later.");
      case "timeout":
        return gettext(
          "This is taking longer than usual. You can keep waiting or cancel and try again later."
        );
      case "deadline":
        return gettext("This try-on took too long and was stopped. Please try again.");
      case "cancelled":
        return gettext("This try-on was cancelled.");
      case "throttled":
        return gettext("Too many tries in a short time. Please wait a minute and try again.");
      case "network":
        return gettext("We couldn't reach the shop. Check your connection and try again.");
      case "forbidden":
        return gettext("Your session has expired. Please reload the page and try again.");
      case "rate_limited":
      case "provider_unavailable":
      case "provider_auth":
      case "provider_account":
        return gettext("The try-on service is busy right now. Please try again in a few minutes.");
      case "garment_unavailable":
        return gettext("This item can't be tried on at the moment.");
      case "provider_failed":
      case "provider_error":
      case "no_result":
      case "result_unavailable":
      case "result_invalid":
      case "task_not_found":
      case "submit_unknown":
      case "input_unavailable":
      case "not_found":
        return gettext("We couldn't create this image. Please try again with another photo.");
      default:
        return server || gettext("Something went wrong. Please try again.");
    }
  }

  // -- default markup (keep in step with templates/django_tryon/widget.html) ----------------

  function escapeHtml(value) {
    return String(value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function defaultMarkup(uid, host) {
    const t = (text) => escapeHtml(text); // called as t(gettext(…)) so makemessages finds them
    const name = host.getAttribute("garment-name");
    const hours = parseInt(host.getAttribute("retention-hours") || "24", 10);
    const privacy = host.getAttribute("privacy-url");
    const label = host.getAttribute("label") || gettext("Try it on");
    const retention = escapeHtml(
      interpolate(
        ngettext(
          "Your photo is used only for this try-on and deleted within %(hours)s hour.",
          "Your photo is used only for this try-on and deleted within %(hours)s hours.",
          hours
        ),
        { hours: hours }
      )
    );
    const intro = name
      ? escapeHtml(interpolate(gettext("See how %(name)s looks on you."), { name: name }))
      : t(gettext("See how this looks on you."));
    const afterAlt = name
      ? escapeHtml(interpolate(gettext("You wearing %(name)s"), { name: name }))
      : t(gettext("The try-on result"));
    return (
      '<button type="button" class="tryon-open" data-tryon-part="open" aria-haspopup="dialog" hidden>' +
      '<span class="tryon-open__icon" aria-hidden="true"></span>' +
      escapeHtml(label) +
      "</button>" +
      '<dialog class="tryon-dialog" data-tryon-part="dialog" aria-labelledby="' + uid + '-title">' +
      '<div class="tryon-panel">' +
      '<header class="tryon-header">' +
      '<h2 class="tryon-title" id="' + uid + '-title">' + escapeHtml(label) + "</h2>" +
      '<button type="button" class="tryon-close" data-tryon-part="close" aria-label="' + t(gettext("Close")) + '">' +
      '<span aria-hidden="true">×</span></button>' +
      "</header>" +
      '<p class="tryon-visually-hidden" role="status" aria-live="polite" data-tryon-part="live"></p>' +
      '<p class="tryon-error" role="alert" tabindex="-1" data-tryon-part="error" hidden></p>' +
      '<section class="tryon-step tryon-step--choose" data-tryon-step="choose">' +
      '<p class="tryon-intro">' + intro + "</p>" +
      '<div class="tryon-consent">' +
      '<input type="checkbox" class="tryon-consent__box" id="' + uid + '-consent" data-tryon-part="consent">' +
      '<label class="tryon-consent__label" for="' + uid + '-consent">' +
      t(gettext("I agree that my photo is sent to the shop's try-on service to create this image.")) +
      "</label>" +
      '<p class="tryon-consent__note">' + retention +
      (privacy
        ? ' <a href="' + escapeHtml(privacy) + '" target="_blank" rel="noopener" data-tryon-part="privacy">' +
          t(gettext("How we handle your photo")) + "</a>"
        : "") +
      "</p>" +
      "</div>" +
      '<div class="tryon-upload">' +
      '<button type="button" class="tryon-button tryon-button--primary" data-tryon-part="choose" disabled>' +
      t(gettext("Choose a photo")) + "</button>" +
      '<button type="button" class="tryon-button" data-tryon-part="camera" disabled hidden>' +
      t(gettext("Take a photo")) + "</button>" +
      '<input type="file" class="tryon-visually-hidden" accept="image/jpeg,image/png,image/webp,image/*" tabindex="-1" aria-hidden="true" data-tryon-part="file">' +
      '<input type="file" class="tryon-visually-hidden" accept="image/*" capture="user" tabindex="-1" aria-hidden="true" data-tryon-part="camera-file">' +
      "</div>" +
      '<p class="tryon-hint">' +
      t(gettext("Use a well-lit photo of yourself standing, facing the camera. JPEG, PNG or WebP.")) +
      "</p>" +
      '<div class="tryon-models" data-tryon-part="models" hidden>' +
      '<h3 class="tryon-subtitle">' + t(gettext("Or try it on one of our models")) + "</h3>" +
      '<ul class="tryon-model-list" data-tryon-part="model-list"></ul>' +
      "</div>" +
      "</section>" +
      '<section class="tryon-step tryon-step--progress" data-tryon-step="progress" hidden>' +
      '<div class="tryon-spinner" aria-hidden="true"></div>' +
      '<ol class="tryon-stages" data-tryon-part="stages">' +
      '<li class="tryon-stage" data-stage="uploading">' + t(gettext("Uploading")) + ' <span class="tryon-stage__detail"></span></li>' +
      '<li class="tryon-stage" data-stage="queued">' + t(gettext("Queued")) + ' <span class="tryon-stage__detail"></span></li>' +
      '<li class="tryon-stage" data-stage="generating">' + t(gettext("Generating")) + ' <span class="tryon-stage__detail"></span></li>' +
      '<li class="tryon-stage" data-stage="saving">' + t(gettext("Saving")) + ' <span class="tryon-stage__detail"></span></li>' +
      "</ol>" +
      '<p class="tryon-hint">' + t(gettext("This usually takes 10 to 60 seconds.")) + "</p>" +
      '<div class="tryon-actions">' +
      '<button type="button" class="tryon-button" data-tryon-part="keep-waiting" hidden>' + t(gettext("Keep waiting")) + "</button>" +
      '<button type="button" class="tryon-button" data-tryon-part="cancel">' + t(gettext("Cancel")) + "</button>" +
      "</div>" +
      "</section>" +
      '<section class="tryon-step tryon-step--result" data-tryon-step="result" hidden>' +
      '<div class="tryon-compare" data-tryon-part="compare">' +
      '<img class="tryon-compare__before" data-tryon-part="before" alt="' + t(gettext("Your photo")) + '">' +
      '<img class="tryon-compare__after" data-tryon-part="after" alt="' + afterAlt + '">' +
      '<input type="range" class="tryon-compare__slider" min="0" max="100" value="50" aria-label="' +
      t(gettext("Compare your photo with the try-on")) + '" data-tryon-part="slider">' +
      "</div>" +
      '<div class="tryon-actions">' +
      '<button type="button" class="tryon-button tryon-button--primary" data-tryon-part="add-to-cart" hidden>' +
      t(gettext("Add to cart")) + "</button>" +
      '<a class="tryon-button" data-tryon-part="download" download>' + t(gettext("Download")) + "</a>" +
      '<button type="button" class="tryon-button" data-tryon-part="again">' + t(gettext("Try another photo")) + "</button>" +
      "</div>" +
      '<p class="tryon-cart-status" role="status" data-tryon-part="cart-status"></p>' +
      "</section>" +
      "</div>" +
      "</dialog>"
    );
  }

  window.customElements.define("tryon-widget", TryOnWidget);
})();
