/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The UI is served by the tacos gateway from web/dist on the same origin as the API, under a CSP
// that allows only same-origin scripts: no inline script, no CDN. `npm run dev` proxies /api to a
// local `make run` server (TACOS_DEV_API overrides where it is).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // Vite inlines tiny assets as data: URLs; keep everything as files so the CSP stays simple.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      "/api": process.env.TACOS_DEV_API ?? "http://127.0.0.1:8080",
    },
  },
  test: {
    // Pure modules run in plain Node; files that render say `@vitest-environment jsdom`.
    environment: "node",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
    restoreMocks: true,
  },
});
