// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';
import tailwindcss from '@tailwindcss/vite';
import { build } from 'esbuild';

/**
 * Bundles the HTTP front (src/lib/server/web/front/server.ts: files, body cap, client address,
 * security headers) and the start-up check (services/startup.ts) to dist/front/, which
 * server.mjs runs with plain node: they read the same settings module as the pages, without a
 * TypeScript loader at run time. A loader registered in the server process would put every
 * later dynamic import, Astro's per-request page import included, through its hooks thread.
 */
const httpFront = {
  name: 'truth-yard-http-front',
  hooks: {
    'astro:build:done': async () => {
      await build({
        entryPoints: { server: 'src/lib/server/web/front/server.ts', startup: 'src/lib/server/services/startup.ts' },
        outdir: 'dist/front',
        outExtension: { '.js': '.mjs' },
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

/**
 * Astro tries `new URL(value)` on every attribute value that holds an `&`, to leave the `&`s
 * of absolute http(s) links unescaped. A relative link (every link of this console: sort,
 * page, facet, filter and row links all carry a query) makes that throw, and an exception
 * costs about 17 µs: most of a rows page's rendering went there. A value without a `:` has
 * no scheme and cannot parse as an absolute URL, so asking for one first gives the same
 * answer without the exception. The build fails if Astro's code no longer reads as expected.
 */
const ASTRO_ATTRIBUTE_URL_CHECK = 'value.includes("&") && isHttpUrl(value)';
/** @type {import('vite').Plugin} */
const attributeUrlCheckWithoutThrow = {
  name: 'truth-yard-attribute-url-check',
  transform(code, id) {
    if (!id.replaceAll('\\', '/').endsWith('/astro/dist/runtime/server/render/util.js')) return null;
    if (!code.includes(ASTRO_ATTRIBUTE_URL_CHECK)) throw new Error(`astro/dist/runtime/server/render/util.js no longer contains ${ASTRO_ATTRIBUTE_URL_CHECK}: review attributeUrlCheckWithoutThrow in astro.config.mjs`);
    return code.replace(ASTRO_ATTRIBUTE_URL_CHECK, 'value.includes("&") && value.includes(":") && isHttpUrl(value)');
  },
};

/**
 * The Node adapter runs every render inside an AsyncLocalStorage, only so that an unhandled
 * rejection's log line can name the URL being rendered. On Node 20 an AsyncLocalStorage in
 * use installs a promise hook, and every promise of every request then pays for it: about
 * 4% of a rows API answer here. The log line (the rejection itself is still printed) no longer
 * names the URL. The build fails if the adapter's code no longer reads as expected.
 */
const NODE_ADAPTER_STORAGE = 'const als = new AsyncLocalStorage();';
/** @type {import('vite').Plugin} */
const renderWithoutAsyncStorage = {
  name: 'truth-yard-render-without-async-storage',
  transform(code, id) {
    if (!id.replaceAll('\\', '/').endsWith('/@astrojs/node/dist/serve-app.js')) return null;
    if (!code.includes(NODE_ADAPTER_STORAGE)) throw new Error(`@astrojs/node/dist/serve-app.js no longer contains ${NODE_ADAPTER_STORAGE}: review renderWithoutAsyncStorage in astro.config.mjs`);
    return code.replace(NODE_ADAPTER_STORAGE, 'const als = { run: (_url, render) => render(), getStore: () => "a route (URL not kept)" };');
  },
};

export default defineConfig({
  output: 'server',
  // Middleware mode: server.mjs is the HTTP server, so only asset URLs are looked up on disk.
  adapter: node({ mode: 'middleware', experimentalDisableStreaming: true }),
  integrations: [httpFront],
  // The middleware refuses every state-changing request (forms and JSON alike) whose Origin
  // does not match; Astro's own check covers forms only and compares with a URL the Node
  // adapter builds as localhost.
  security: { checkOrigin: false },
  server: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 4321) },
  vite: {
    plugins: [tailwindcss(), attributeUrlCheckWithoutThrow, renderWithoutAsyncStorage],
    ssr: { external: ['better-sqlite3', '@node-rs/argon2'] },
    // Every script and stylesheet as a file, never inlined into the page: the Content
    // Security Policy admits only the console's own files ('self'), no inline script.
    build: { assetsInlineLimit: 0 },
  },
});
