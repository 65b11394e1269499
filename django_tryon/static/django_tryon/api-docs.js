/*
 * django-tryon API docs: Swagger UI over the app's schema, from the shop's own static files.
 * Calls carry the session cookie and Django's CSRF token, as the widget's do.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  window.ui = window.SwaggerUIBundle({
    url: script.dataset.schema,
    dom_id: "#swagger-ui",
    withCredentials: true,
    requestInterceptor: function (request) {
      const match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
      if (match) {
        request.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
      }
      return request;
    },
  });
})();
