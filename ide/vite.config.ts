import { defineConfig } from 'vite';

// The API serves the built IDE from ide/dist; `vite` (dev server) proxies API calls to it.
export default defineConfig({
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: { '/api': { target: 'http://127.0.0.1:4000', ws: true } },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
