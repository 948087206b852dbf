// The production bundle: only index.html -> src/main.tsx. Nothing under dev/ is reachable from here.
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tauri serves the bundle from its own protocol; relative URLs keep it location-independent.
  base: "./",
  clearScreen: false,
  server: { host: "127.0.0.1", port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    target: "es2022",
    // No inline scripts or data: URLs, so `default-src 'self'` holds.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["test/setup.ts"],
    include: ["test/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
