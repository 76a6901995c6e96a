// GraphiQL served by the binary from its own assets (no CDN): signed in with the admin
// app's session (the token is passed to every request and to the WebSocket, never shown
// or pasted), the explorer plugin, and subscriptions over /graphql/ws.
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { explorerPlugin } from "@graphiql/plugin-explorer";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/graphiql.css";
import "@graphiql/plugin-explorer/dist/style.css";
import "./graphiql.css";

const KEY = "alpes.session";

interface Stored {
  token?: string;
  expiresAt?: string;
  email?: string;
}

function storedSession(): Stored | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? "null") as Stored | null;
    if (s?.token && s.expiresAt && new Date(s.expiresAt) > new Date()) return s;
  } catch {
    /* a broken entry is the same as none */
  }
  return null;
}

const session = storedSession();
if (!session) {
  // Sign in in the admin app, then come back here.
  location.assign(`/login?next=${encodeURIComponent("/graphql")}`);
} else {
  const authorization = `Bearer ${session.token}`;
  const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/ws`;
  const fetcher = createGraphiQLFetcher({
    url: "/graphql",
    subscriptionUrl: wsUrl,
    headers: { authorization },
    wsConnectionParams: { authorization },
  });
  const explorer = explorerPlugin();
  const root = document.getElementById("graphiql");
  if (root) {
    root.textContent = "";
    createRoot(root).render(
      createElement(GraphiQL, {
        fetcher,
        plugins: [explorer],
        defaultQuery: `# Signed in as ${session.email ?? "you"}. Ctrl+Enter runs the query.\nquery Overview {\n  dashboard(period: "7d") {\n    currency\n    clicks\n    conversions\n    revenue\n  }\n}\n`,
        shouldPersistHeaders: false,
      }),
    );
  }
}
