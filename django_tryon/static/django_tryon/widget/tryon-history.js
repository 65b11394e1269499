/*
 * django-tryon widget: "My try-ons": the shopper's own results kept at the shop, and
 * "erase my photos and results" (asked twice, then deleted at the shop with their files).
 * Loaded as a classic script (no build step); it adds window.djangoTryon.History.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});
  const gettext = (text) => tryon.messages.gettext(text);

  class History {
    /** host: the element; api: its ApiClient; el: its parts; show(step): switch steps. */
    constructor(host, api, el, show) {
      this._host = host;
      this._api = api;
      this._el = el;
      this._show = show;
      el.historyOpen.addEventListener("click", () => this.open());
      el.historyBack.addEventListener("click", () => this._back());
      el.erase.addEventListener("click", () => this._ask(true));
      el.eraseNo.addEventListener("click", () => this._ask(false));
      el.eraseYes.addEventListener("click", () => this._erase());
    }

    async open() {
      this._ask(false, { keepFocus: true });
      this._el.historyStatus.textContent = "";
      this._show("history");
      this._el.historyTitle.focus();
      await this._list();
    }

    async _list() {
      const requests = await this._api.myTryOns();
      const list = this._el.historyList;
      list.replaceChildren();
      for (const request of requests) {
        const result = (request.results || [])[0];
        if (!result || !result.url) {
          continue;
        }
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = result.url;
        link.target = "_blank";
        link.rel = "noopener";
        const image = document.createElement("img");
        image.src = result.url;
        image.loading = "lazy";
        const when = new Date(request.completed_at || request.created_at);
        image.alt = tryon.messages.interpolate(gettext("Your try-on of %(date)s"), {
          date: when.toLocaleString(document.documentElement.lang || undefined),
        });
        link.append(image);
        item.append(link);
        list.append(item);
      }
      this._el.historyEmpty.hidden = list.children.length > 0;
      this._el.erase.disabled = list.children.length === 0 && requests.length === 0;
    }

    _ask(asking, options) {
      this._el.eraseConfirm.hidden = !asking;
      this._el.eraseAsk.hidden = asking;
      if (options && options.keepFocus) {
        return;
      }
      (asking ? this._el.eraseNo : this._el.erase).focus();
    }

    async _erase() {
      const answer = await this._api.eraseMine();
      this._ask(false);
      if (!answer) {
        this._el.historyStatus.textContent = gettext("Your photos could not be erased. Please try again.");
        return;
      }
      let text = gettext("Your photos and results were erased.");
      if (answer.still_running) {
        text += " " + gettext("A try-on still being made will be kept until it ends; erase again then.");
      }
      this._el.historyStatus.textContent = text;
      this._host.dispatchEvent(
        new CustomEvent("tryon:erased", {
          bubbles: true,
          composed: true,
          detail: { garment: this._host.garment, erased: answer.erased, stillRunning: answer.still_running },
        })
      );
      await this._list();
    }

    _back() {
      this._show("choose");
      this._el.historyOpen.focus();
    }
  }

  tryon.History = History;
})();
