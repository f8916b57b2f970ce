import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// base "./" so the same dist/ is served unchanged on every page origin.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: { outDir: "dist", emptyOutDir: true },
});
