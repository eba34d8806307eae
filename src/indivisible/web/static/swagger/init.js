// Starts Swagger UI for /api/v1/docs. It lives in a file, not in the page, because the node's
// Content-Security-Policy (script-src 'self') refuses inline scripts.
(function () {
  "use strict";

  // The page carries this only when it was loaded with a valid session cookie.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function addCsrf(request) {
    var token = csrfToken();
    // The browser sends the session cookie with every same-origin request, and the node refuses
    // unsafe methods authenticated that way unless they prove they came from its own page. The
    // token must never go to another origin, whatever servers the description might list.
    if (token && new URL(request.url, window.location.href).origin === window.location.origin) {
      request.headers = request.headers || {};
      request.headers["X-CSRF-Token"] = token;
    }
    return request;
  }

  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // A pasted bearer token survives reloads (kept in this browser's localStorage).
    persistAuthorization: true,
    requestInterceptor: addCsrf,
    // The default sends the description to validator.swagger.io: nodes run offline, and the CSP
    // would refuse the badge image anyway.
    validatorUrl: null,
  });
})();
