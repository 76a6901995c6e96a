import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // GraphiQL (React, CodeMirror) and the API docs viewer are pages of their own.
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      input: { index: "index.html", graphiql: "graphiql.html", docs: "docs.html" },
      // GraphiQL's React packages mark themselves "use client", which means nothing here.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
  server: {
    proxy: {
      "/graphql": { target: "http://127.0.0.1:8000", ws: true },
      "/api": "http://127.0.0.1:8000",
    },
  },
});
