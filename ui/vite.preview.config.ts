// Dev-only build of dev/preview.html: the real app on a fake backend (mockIPC), for looking at it in a browser.
// Output goes to dev-dist/, never to dist/.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: {
    outDir: "dev-dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    rollupOptions: { input: { preview: decodeURIComponent(new URL("./dev/preview.html", import.meta.url).pathname) } },
  },
});
