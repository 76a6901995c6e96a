// The REST API's OpenAPI document (/api/v1/openapi.json) rendered by RapiDoc, bundled with
// the binary: it works without internet. "Try" sends requests with the admin app's
// session when there is one.
import "rapidoc";
import "./docs.css";

const doc = document.createElement("rapi-doc");
const attributes: Record<string, string> = {
  "spec-url": "/api/v1/openapi.json",
  "render-style": "read",
  "theme": "light",
  "primary-color": "#2563eb",
  "show-header": "false",
  "allow-server-selection": "false",
  "allow-authentication": "true",
  "schema-style": "table",
  "regular-font": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
  "mono-font": "ui-monospace, SFMono-Regular, Menlo, monospace",
  "load-fonts": "false",
};
for (const [name, value] of Object.entries(attributes)) doc.setAttribute(name, value);
try {
  const s = JSON.parse(localStorage.getItem("alpes.session") ?? "null") as { token?: string; expiresAt?: string } | null;
  if (s?.token && s.expiresAt && new Date(s.expiresAt) > new Date()) {
    doc.setAttribute("api-key-name", "Authorization");
    doc.setAttribute("api-key-location", "header");
    doc.setAttribute("api-key-value", `Bearer ${s.token}`);
  }
} catch {
  /* no session: reading the docs needs none */
}
document.body.appendChild(doc);
