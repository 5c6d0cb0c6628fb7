// Swagger UI's start-up for /docs. A file of ours, not an inline <script>, so the pages run under a
// Content-Security-Policy of script-src 'self'. The token pasted into *Authorize* is kept across reloads.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
