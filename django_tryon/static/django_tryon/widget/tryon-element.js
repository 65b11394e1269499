/*
 * django-tryon widget: the <tryon-widget> element, which walks the shopper from consent
 * to result. It holds the state and listens to the shopper; step 1's handlers are in
 * tryon-choose.js, the session talks to the shop (tryon-session.js), the view changes the
 * markup (tryon-view.js).
 * Loaded as a classic script (no build step); it adds window.djangoTryon.TryOnWidget,
 * which tryon-widget.js defines as the custom element.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

  // Looked up when called (every part is loaded before the element is defined).
  const gettext = (text) => tryon.messages.gettext(text);
  const interpolate = (format, values) => tryon.messages.interpolate(format, values);

  class TryOnWidget extends HTMLElement {
    constructor() {
      super();
      this._state = "idle"; // idle | preparing | uploading | waiting | result
      this._requestId = null;
      this._session = null; // the try-on in progress (tryon-session.js)
      this._beforeUrl = null; // object URL of the shopper's resized photo
      this._result = null;
      this._shownRequestId = null; // the last try-on whose result was on screen
      this._available = true;
      this._modelsLoaded = false;
      this._startedAt = 0;
      this._api = new tryon.ApiClient(this);
    }

    // -- attributes ----------------------------------------------------------------------

    get garment() {
      return this.getAttribute("garment") || "";
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

    async connectedCallback() {
      if (this._built) {
        return; // moved within the page: keep its state and listeners
      }
      this._built = true;
      if (!this.querySelector('[data-tryon-part="dialog"]') && !(await this._fetchMarkup())) {
        this._emit("unavailable", { reason: "markup", message: "" });
        return;
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
        if (this._session) {
          this._session.abandon();
        }
        this._revokeBefore();
      });
    }

    /** An empty element takes the Django template's markup from the API's widget/ view. */
    async _fetchMarkup() {
      const html = await this._api.markup(this.garment, this.getAttribute("label"));
      return tryon.WidgetView.adopt(this, html);
    }

    _bind() {
      this._el = tryon.WidgetView.parts(this);
      const el = this._el;
      this._dialog = new tryon.ModalDialog(el.dialog, el.close, () => this._afterClose());
      this._view = new tryon.WidgetView(this, el);
      el.open.hidden = false;
      el.open.addEventListener("click", () => this.open());
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
      el.slider.addEventListener("input", () => this._view.setSplit(el.slider.value));
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
      this._view.showStep("choose");
      if (el.historyOpen) {
        this._history = new tryon.History(this, this._api, el, (step) => this._view.showStep(step));
      }
      if (this.getAttribute("funnel") === "on") {
        this._funnel = new tryon.Funnel(this, this._api);
      }
    }

    // -- public API ----------------------------------------------------------------------

    /**
     * For the shop's own "Add to cart": after a try-on was shown on this page, fires
     * tryon:added-to-cart (source "page"; the funnel counts it) and answers true.
     */
    addedToCart() {
      if (!this._shownRequestId) {
        return false;
      }
      this._emit("added-to-cart", { requestId: this._shownRequestId, response: null, source: "page" });
      return true;
    }

    /** Open the dialog (what the "Try it on" button does). */
    open() {
      if (!this._dialog || this._dialog.isOpen || !this._available) {
        return;
      }
      this._dialog.show();
      this._emit("open", {});
      this._loadModels();
      this._dialog.focusFirst();
    }

    /** Close the dialog; a try-on in progress keeps going and is shown when reopened. */
    close() {
      if (this._dialog) {
        this._dialog.hide();
      }
    }

    _afterClose() {
      this._emit("close", { requestId: this._requestId });
      if (!this._available) {
        this._hideButton();
      }
      this._dialog.restoreFocus(this._el.open);
    }

    // -- availability (the shop's budget and the shopper's quota) --------------------------

    async _checkAvailability() {
      const data = await this._api.quota();
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
      if (!this._dialog.isOpen) {
        this._hideButton();
      }
    }

    _hideButton() {
      this._el.open.hidden = true;
      this.classList.add("tryon-unavailable");
    }

    // -- step 1 (consent, then a photo or a house model) is in tryon-choose.js ----------------

    // -- step 2: one try-on at the shop ----------------------------------------------------

    _busy() {
      return this._state === "preparing" || this._state === "uploading" || this._state === "waiting";
    }

    _create(form) {
      this._state = "uploading";
      this._view.showStep("progress");
      this._view.setStage("uploading");
      this._el.cancel.hidden = true; // nothing to cancel until the server has it
      this._el.keepWaiting.hidden = true;
      this._view.announce(gettext("Uploading your photo…"));
      this._startedAt = Date.now();
      this._session = new tryon.TryOnSession(this._api, this.timeoutMs, {
        progress: (percent) => {
          this._view.stageDetail("uploading", interpolate(gettext("%(percent)s%%"), { percent }));
        },
        started: (data) => {
          this._requestId = data.id;
          this._state = "waiting";
          this._el.cancel.hidden = false;
          this._emit("start", { requestId: data.id, status: data.status });
        },
        stage: (stage) => {
          this._view.setStage(stage);
          this._view.announce(tryon.messages.stageText(stage));
        },
        estimate: (seconds) => this._view.showEstimate(seconds),
        succeeded: (data) => this._succeeded(data),
        failed: (code, step, options) => {
          this._state = "idle";
          this._fail(code, step, options);
        },
        unavailable: (reason, message) => this._markUnavailable(reason, message),
        timedOut: (code) => {
          this._fail(code, "generate", { stay: true });
          this._el.keepWaiting.hidden = false;
          this._el.cancel.hidden = false;
          this._el.keepWaiting.focus();
        },
      });
      this._session.start(form);
    }

    _keepWaiting() {
      this._el.keepWaiting.hidden = true;
      this._view.clearError();
      this._view.announce(tryon.messages.stageText(this._session.stage));
      this._session.follow(null);
      this._el.cancel.focus();
    }

    async _cancel() {
      const id = this._requestId;
      this._el.cancel.disabled = true;
      const data = this._session ? await this._session.cancel() : null;
      this._el.cancel.disabled = false;
      if (data && data.status === "succeeded") {
        this._succeeded(data); // it finished first: show it rather than throw it away
        return;
      }
      this._emit("cancel", { requestId: id });
      this._state = "idle";
      this._reset({ focus: true });
      this._view.announce(gettext("Try-on cancelled."));
    }

    _stopPolling() {
      if (this._session) {
        this._session.stop();
      }
    }

    // -- step 3: the result ------------------------------------------------------------------

    async _succeeded(data) {
      const results = Array.isArray(data.results) ? data.results : [];
      const first = results[0];
      if (!first || !first.url) {
        this._state = "idle";
        this._fail("no_result", "generate");
        return;
      }
      this._view.setStage("saving");
      this._view.announce(tryon.messages.stageText("saving"));
      await tryon.photo.preload(first.url);
      this._state = "result";
      this._result = first;
      this._shownRequestId = this._requestId;
      this._view.showResult(first, this._beforeUrl || this._beforeSrc || "", this.getAttribute("garment-name"));
      this._view.showStep("result");
      this._view.announce(gettext("Your try-on is ready."));
      this._emit("success", {
        requestId: this._requestId,
        results: results,
        seconds: Math.round((Date.now() - this._startedAt) / 100) / 10,
      });
      if (this._dialog.isOpen) {
        (this._el.addToCart.hidden ? this._el.download : this._el.addToCart).focus();
      }
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
      const answer = await this._api.addToCart(detail.url);
      button.disabled = false;
      if (answer.added) {
        // Only after the shop's JSON confirmed it (tryon-client.js: addToCart).
        this._el.cartStatus.dataset.outcome = "added";
        this._el.cartStatus.textContent = gettext("Added to your cart.");
        this._emit("added-to-cart", { requestId: this._requestId, response: answer.data, source: "widget" });
        return;
      }
      const message = answer.message || gettext("This could not be added to your cart. Please try again.");
      this._el.cartStatus.dataset.outcome = "refused";
      this._el.cartStatus.textContent = message;
      this._emit("error", { requestId: this._requestId, code: "add_to_cart", message: message, stage: "add-to-cart" });
    }

    _reset(options) {
      this._stopPolling();
      this._state = "idle";
      this._requestId = null;
      this._result = null;
      this._revokeBefore();
      this._beforeSrc = null;
      this._view.clearResult();
      this._el.keepWaiting.hidden = true;
      this._view.clearError();
      this._view.showStep("choose");
      if (options && options.focus && this._dialog.isOpen) {
        this._dialog.focusFirst();
      }
    }

    _revokeBefore() {
      if (this._beforeUrl) {
        URL.revokeObjectURL(this._beforeUrl);
        this._beforeUrl = null;
      }
    }

    // -- telling the shopper and the shop ---------------------------------------------------

    _fail(code, stage, options) {
      const opts = options || {};
      const message = tryon.messages.errorText(code, {
        serverMessage: opts.serverMessage,
        preferServer: opts.preferServer,
        values: Object.assign({ min: this.minSide }, opts.values || {}),
      });
      if (!opts.stay) {
        this._view.showStep("choose");
      }
      this._view.showError(message, !opts.stay && this._dialog.isOpen);
      this._emit("error", { requestId: this._requestId, code: code, message: message, stage: stage });
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
  }

  Object.assign(TryOnWidget.prototype, tryon.choosing);
  tryon.TryOnWidget = TryOnWidget;
})();
