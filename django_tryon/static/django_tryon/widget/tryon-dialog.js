/*
 * django-tryon widget: the modal dialog the try-on happens in.
 *
 * A native dialog element opened with showModal(): the page behind is inert and the browser
 * draws the backdrop. This adds what the element does not do by itself: Escape and a click
 * on the backdrop go through the widget's own close (its events and focus return), Tab
 * stays inside the dialog, and focus goes back to where the shopper was.
 * Loaded as a classic script (no build step); it adds window.djangoTryon.ModalDialog.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

  const FOCUSABLE =
    'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  class ModalDialog {
    /** onClosed runs once the dialog has closed, however it was closed. */
    constructor(dialog, closeButton, onClosed) {
      this.element = dialog;
      this._closeButton = closeButton;
      this._onClosed = onClosed;
      this._lastFocus = null;
      closeButton.addEventListener("click", () => this.hide());
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault(); // Escape: our own close instead of the bare one
        this.hide();
      });
      dialog.addEventListener("close", () => this._onClosed());
      dialog.addEventListener("keydown", (event) => this._trapFocus(event));
      dialog.addEventListener("click", (event) => {
        if (event.target === dialog) {
          this.hide(); // a click on the backdrop
        }
      });
    }

    get isOpen() {
      return this.element.open;
    }

    show() {
      this._lastFocus = document.activeElement;
      if (typeof this.element.showModal === "function") {
        this.element.showModal();
      } else {
        this.element.setAttribute("open", "");
      }
    }

    hide() {
      if (!this.element.open) {
        return;
      }
      if (typeof this.element.close === "function") {
        this.element.close();
      } else {
        this.element.removeAttribute("open");
        this._onClosed();
      }
    }

    /** Focus goes back where it was before opening, or to fallback when that is gone. */
    restoreFocus(fallback) {
      const target = this._lastFocus;
      this._lastFocus = null;
      const back = target && target.isConnected && !target.hidden ? target : fallback;
      if (back && !back.hidden && typeof back.focus === "function") {
        back.focus();
      }
    }

    /** The first control that is not the close button (the shopper's next step). */
    focusFirst() {
      const target = this._focusables().find((node) => node !== this._closeButton) || this._closeButton;
      if (target) {
        target.focus();
      }
    }

    _focusables() {
      return Array.from(this.element.querySelectorAll(FOCUSABLE)).filter(
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
      const inside = this.element.contains(active);
      if (event.shiftKey && (active === first || !inside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !inside)) {
        event.preventDefault();
        first.focus();
      }
    }
  }

  tryon.ModalDialog = ModalDialog;
})();
