// The API reference page (/docs): starts Swagger UI in #swagger-ui. It replaces the inline
// script of swagger-ui-dist's index.html (the CSP is script-src 'self'). The page loads
// the vendored swagger-ui-bundle.js first with a classic <script src> (it defines the
// global SwaggerUIBundle), then this module, which runs after it. The document's URL is
// data-url on #swagger-ui, else /openapi.json.

type SwaggerUIBundle = ((options: Record<string, unknown>) => unknown) & {
  presets: { apis: unknown };
};

const root = document.getElementById("swagger-ui");
const bundle = (window as Window & { SwaggerUIBundle?: SwaggerUIBundle }).SwaggerUIBundle;
if (root && !bundle) {
  root.textContent = "The API reference could not start: swagger-ui-bundle.js did not load.";
} else if (root && bundle) {
  bundle({
    url: root.dataset.url ?? "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [bundle.presets.apis],
    layout: "BaseLayout",
  });
}
