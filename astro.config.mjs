// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';
import tailwindcss from '@tailwindcss/vite';
import { build } from 'esbuild';

/**
 * Bundles the HTTP front (src/lib/server/web/front/server.ts: files, body cap, client address,
 * security headers) to dist/front/server.mjs, which server.mjs runs with plain node: the
 * front reads the same settings module as the pages, without a TypeScript loader at run time.
 */
const httpFront = {
  name: 'truth-yard-http-front',
  hooks: {
    'astro:build:done': async () => {
      await build({
        entryPoints: ['src/lib/server/web/front/server.ts'],
        outfile: 'dist/front/server.mjs',
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'warning',
      });
    },
  },
};

export default defineConfig({
  output: 'server',
  // Middleware mode: server.mjs is the HTTP server, so only asset URLs are looked up on disk.
  adapter: node({ mode: 'middleware' }),
  integrations: [httpFront],
  // The middleware refuses every state-changing request (forms and JSON alike) whose Origin
  // does not match; Astro's own check covers forms only and compares with a URL the Node
  // adapter builds as localhost.
  security: { checkOrigin: false },
  server: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 4321) },
  vite: {
    plugins: [tailwindcss()],
    ssr: { external: ['better-sqlite3', '@node-rs/argon2'] },
    // Every script and stylesheet as a file, never inlined into the page: the Content
    // Security Policy admits only the console's own files ('self'), no inline script.
    build: { assetsInlineLimit: 0 },
  },
});
