/*
 * django-tryon widget: the shop's funnel counts (TRYON["FUNNEL"], docs/funnel.md).
 *
 * It listens to the widget's own DOM events, as a shop's analytics would, and reports
 * four of them to the shop's API: the dialog opened, a photo given, a result shown, the
 * garment added to the cart after its try-on. Only the step, the garment and (for the
 * last two) the shopper's own try-on id are sent: the server keeps counts, not people.
 * Loaded as a classic script (no build step); it adds window.djangoTryon.Funnel.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

  // The widget's event, and the funnel step it counts.
  const STEPS = {
    open: "opened",
    upload: "photo_given",
    success: "result_shown",
    "added-to-cart": "added_to_cart",
  };
  // Steps of one finished try-on: they carry its id and count once per try-on (the server
  // sees to that); the others count once per page view.
  const OF_A_TRYON = new Set(["success", "added-to-cart"]);

  class Funnel {
    constructor(host, api) {
      this._host = host;
      this._api = api;
      this._once = new Set(); // steps this page view has already reported
      Object.keys(STEPS).forEach((name) => {
        host.addEventListener("tryon:" + name, (event) => {
          if (event.target === host) {
            this._report(name, event.detail || {});
          }
        });
      });
    }

    _report(name, detail) {
      if (!OF_A_TRYON.has(name)) {
        if (this._once.has(name)) {
          return; // once per page view, however often the dialog is reopened
        }
        this._once.add(name);
      }
      const requestId = OF_A_TRYON.has(name) ? detail.requestId : null;
      if (OF_A_TRYON.has(name) && !requestId) {
        return;
      }
      this._api.countStep(STEPS[name], detail.garment || this._host.garment, requestId);
    }
  }

  tryon.Funnel = Funnel;
})();
