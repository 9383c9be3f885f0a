/* The API reference (/docs): Swagger UI served by this service from the swagger-ui-bundle-v2 package, started
 * from this file rather than an inline script so the Content-Security-Policy can forbid inline scripts. */
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    });
  });
})();
