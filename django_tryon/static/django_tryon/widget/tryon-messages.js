/*
 * django-tryon widget: the words the shopper reads.
 *
 * Translations come from Django's JavaScript catalog (load /tryon/jsi18n/ first); without
 * it, English. The server's own message is shown only for a code this file does not know.
 * Loaded as a classic script (no build step); it adds window.djangoTryon.messages.
 */
(function () {
  "use strict";

  const tryon = (window.djangoTryon = window.djangoTryon || {});

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
    if (options.preferServer && server) {
      return server; // a failed try-on: the server's one table of messages says it
    }
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
      case "waiting_for_worker":
        return gettext(
          "The shop's try-on service isn't running right now, so this hasn't started yet. You can keep waiting or cancel and try again later."
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

  tryon.messages = {
    gettext: gettext,
    ngettext: ngettext,
    interpolate: interpolate,
    stageText: stageText,
    quotaCode: quotaCode,
    mapFieldErrors: mapFieldErrors,
    errorText: errorText,
  };
})();
