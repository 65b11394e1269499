/*
 * django-tryon product-page widget: <tryon-widget garment="UUID" api="/tryon/api/">.
 *
 * Plain JavaScript (ES2020) in classic scripts: no build step, no framework, no network
 * access beyond the shop's own API. {% tryon_widget %} writes them in this order, after
 * Django's JavaScript catalog (/tryon/jsi18n/, for translations):
 *
 *   tryon-messages.js  the words the shopper reads
 *   tryon-photo.js     the photo, resized and stripped of metadata in the browser
 *   tryon-client.js    the client of the shop's try-on API
 *   tryon-session.js   one try-on, from the upload to its end
 *   tryon-dialog.js    the modal dialog: Escape, backdrop, focus trap and return
 *   tryon-view.js      what the shopper sees and hears
 *   tryon-element.js   the element: state and the shopper's actions
 *   tryon-funnel.js    the shop's funnel counts, from the element's own events
 *   tryon-history.js   "My try-ons" and erasing the shopper's photos and results
 *   tryon-widget.js    this file: defines <tryon-widget> once the others are there
 *
 * A page that loads only this file still works: it loads the missing parts from next to
 * itself first. Light DOM, not shadow DOM: the markup is the overridable Django template
 * (django_tryon/widget.html), written by the tag or, for an empty element, fetched from
 * the API's widget/ view; shop stylesheets, label/for pairs, form controls and the shop's
 * analytics all see the real elements. Styling goes through --tryon-* custom properties.
 * Nothing is written to localStorage, sessionStorage or cookies.
 */
(function () {
  "use strict";

  if (!window.customElements || window.customElements.get("tryon-widget")) {
    return;
  }

  const tryon = (window.djangoTryon = window.djangoTryon || {});
  // What each part adds to window.djangoTryon, and its file, in loading order.
  const PARTS = {
    messages: "tryon-messages.js",
    photo: "tryon-photo.js",
    ApiClient: "tryon-client.js",
    TryOnSession: "tryon-session.js",
    ModalDialog: "tryon-dialog.js",
    WidgetView: "tryon-view.js",
    choosing: "tryon-choose.js",
    TryOnWidget: "tryon-element.js",
    Funnel: "tryon-funnel.js",
    History: "tryon-history.js",
  };

  // -- loading: the element is defined once every part is on the page --------------------

  function missingParts() {
    return Object.keys(PARTS).filter((name) => !tryon[name]);
  }

  /** Load the parts a page did not include, from next to this script, in order. */
  function loadParts(script, names) {
    const loads = names.map((name) => {
      const tag = document.createElement("script");
      tag.src = new URL(PARTS[name], script.src).href;
      tag.async = false; // run in the order given, like deferred scripts
      const loaded = new Promise((resolve, reject) => {
        tag.addEventListener("load", resolve);
        tag.addEventListener("error", () => reject(new Error("django-tryon: cannot load " + tag.src)));
      });
      document.head.append(tag);
      return loaded;
    });
    return Promise.all(loads);
  }

  function define() {
    if (!window.customElements.get("tryon-widget")) {
      window.customElements.define("tryon-widget", tryon.TryOnWidget);
    }
  }

  const missing = missingParts();
  if (missing.length === 0) {
    define();
  } else if (document.currentScript && document.currentScript.src) {
    loadParts(document.currentScript, missing).then(define, (error) => console.error(error));
  } else {
    console.error("django-tryon: load " + missing.map((name) => PARTS[name]).join(", ") + " first");
  }
})();
