/*
 * django-tryon widget: what the shopper sees and hears.
 *
 * The view only changes the markup the Django template wrote (steps, stages, the live
 * region, the error box, the house models, the before/after result); what happens next is
 * the element's business (tryon-widget.js). Loaded as a classic script (no build step);
 * it adds window.djangoTryon.WidgetView.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});
  // Where the before/after divide starts, in percent of the width from the left.
  const OPENING_SPLIT = 20;

  const STAGES = ["uploading", "queued", "generating", "saving"];

  class WidgetView {
    /** The parts of the markup the widget uses, by their data-tryon-part names. */
    static parts(host) {
      const p = (name) => host.querySelector('[data-tryon-part="' + name + '"]');
      return {
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
        privacy: p("privacy"),
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
        estimate: p("estimate"),
        historyOpen: p("history-open"),
        historyTitle: p("history-title"),
        historyList: p("history-list"),
        historyEmpty: p("history-empty"),
        historyBack: p("history-back"),
        historyStatus: p("history-status"),
        erase: p("erase"),
        eraseAsk: p("erase-ask"),
        eraseConfirm: p("erase-confirm"),
        eraseYes: p("erase-yes"),
        eraseNo: p("erase-no"),
      };
    }

    /**
     * Move the markup of the <tryon-widget> in html (the Django template, rendered by the
     * API's widget/ view) into host, with the settings it states as attributes host lacks.
     * False when html offers no widget (unknown garment, or try-on not offered now).
     */
    static adopt(host, html) {
      const template = document.createElement("template");
      template.innerHTML = html;
      const source = template.content.querySelector("tryon-widget");
      if (!source || !source.querySelector('[data-tryon-part="dialog"]')) {
        return false;
      }
      for (const attribute of Array.from(source.attributes)) {
        if (!host.hasAttribute(attribute.name)) {
          host.setAttribute(attribute.name, attribute.value);
        }
      }
      host.replaceChildren(...Array.from(source.childNodes));
      const privacy = WidgetView.parts(host).privacy;
      if (privacy && host.getAttribute("privacy-url")) {
        privacy.setAttribute("href", host.getAttribute("privacy-url")); // the page's own link wins
        privacy.hidden = false;
      }
      return true;
    }

    /** host: the <tryon-widget>; el: its parts by name (see the element's _bind). */
    constructor(host, el) {
      this._host = host;
      this._el = el;
      this.stage = null;
    }

    showStep(name) {
      this._host.querySelectorAll("[data-tryon-step]").forEach((section) => {
        section.hidden = section.getAttribute("data-tryon-step") !== name;
      });
      this._el.dialog.setAttribute("data-tryon-state", name);
    }

    /** Mark the stages before this one done and this one current. */
    setStage(stage) {
      this.stage = stage;
      const at = STAGES.indexOf(stage);
      this._el.stages.querySelectorAll("[data-stage]").forEach((item) => {
        const index = STAGES.indexOf(item.getAttribute("data-stage"));
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

    /** "Usually about 25 seconds here", from the shop's own recent try-ons. */
    showEstimate(seconds) {
      if (!this._el.estimate) {
        return; // a template without the part keeps its own words
      }
      const { ngettext, interpolate } = tryon.messages;
      this._el.estimate.textContent = interpolate(
        ngettext("This usually takes about %(seconds)s second here.", "This usually takes about %(seconds)s seconds here.", seconds),
        { seconds: seconds }
      );
    }

    stageDetail(stage, text) {
      const item = this._el.stages.querySelector('[data-stage="' + stage + '"] .tryon-stage__detail');
      if (item) {
        item.textContent = text;
      }
    }

    announce(text) {
      // Clear, then set on the next frame, so repeating a message is announced again.
      const live = this._el.live;
      live.textContent = "";
      window.setTimeout(() => {
        live.textContent = text;
      }, 30);
    }

    showError(message, focus) {
      const box = this._el.error;
      box.textContent = message;
      box.hidden = false;
      if (focus) {
        box.focus();
      }
    }

    clearError() {
      this._el.error.hidden = true;
      this._el.error.textContent = "";
    }

    /** One button per house model; onPick(photo, imageUrl) when the shopper picks one. */
    listModels(photos, onPick) {
      const { gettext, interpolate } = tryon.messages;
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
        button.addEventListener("click", () => onPick(photo, image.src));
        item.append(button);
        list.append(item);
      });
      this._el.models.hidden = photos.length === 0;
    }

    /** The result beside the photo it was made from (the result alone without one). */
    showResult(result, beforeSrc, garmentName) {
      const el = this._el;
      el.after.src = result.url;
      if (result.width && result.height) {
        el.compare.style.setProperty("--tryon-aspect", result.width + " / " + result.height);
        el.compare.style.setProperty("--tryon-ratio", String(result.width / result.height));
      }
      el.before.src = beforeSrc;
      el.compare.classList.toggle("tryon-compare--single", !beforeSrc);
      el.slider.hidden = !beforeSrc;
      // Open mostly on the try-on, with a strip of the photo and the handle in view: the
      // change is seen at once, and the handle says it can be dragged.
      el.slider.value = String(OPENING_SPLIT);
      this.setSplit(OPENING_SPLIT);
      el.download.href = result.url;
      el.download.setAttribute("download", tryon.photo.downloadName(garmentName));
      el.cartStatus.textContent = "";
      el.addToCart.disabled = false;
    }

    setSplit(value) {
      const { gettext, interpolate } = tryon.messages;
      this._el.compare.style.setProperty("--tryon-split", value + "%");
      this._el.slider.setAttribute(
        "aria-valuetext",
        interpolate(gettext("%(percent)s%% of your photo shown"), { percent: Math.round(value) })
      );
    }

    clearResult() {
      this._el.after.removeAttribute("src");
      this._el.before.removeAttribute("src");
      this._el.download.removeAttribute("href");
    }
  }

  tryon.WidgetView = WidgetView;
})();
