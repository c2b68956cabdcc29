import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map|wasm|ttf)$/;
const MIN_BYTES = 1024;

/**
 * Writes a .br and a .gz beside every compressible file of the build: the API serves them as they are
 * (no compression per request), picked by the browser's Accept-Encoding.
 */
function precompress(): Plugin {
  let outDir = '';
  const brotli = promisify(brotliCompress);
  const gz = promisify(gzip);
  return {
    name: 'vaporform-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const entries = await readdir(outDir, { recursive: true, withFileTypes: true });
      await Promise.all(
        entries
          .filter((entry) => entry.isFile() && COMPRESSIBLE.test(entry.name))
          .map(async (entry) => {
            const file = path.join(entry.parentPath, entry.name);
            const data = await readFile(file);
            if (data.length < MIN_BYTES) return;
            const quality = data.length > 512 * 1024 ? 9 : 11;
            const [br, gzipped] = await Promise.all([
              brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
              gz(data, { level: 9 }),
            ]);
            await Promise.all([writeFile(file + '.br', br), writeFile(file + '.gz', gzipped)]);
          }),
      );
    },
  };
}

// The API serves the built IDE from ide/dist; `vite` (dev server) proxies API calls to it.
export default defineConfig({
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: { '/api': { target: 'http://127.0.0.1:4000', ws: true } },
  },
  // Monaco is loaded on demand and is large by nature; the initial page stays small (see bench/ide).
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  worker: { format: 'es' },
  plugins: [precompress()],
});
