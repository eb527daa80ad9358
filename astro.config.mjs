// @ts-check
import { defineConfig } from 'astro/config';
import node from '@astrojs/node';
import tailwindcss from '@tailwindcss/vite';

export default defineConfig({
  output: 'server',
  // Middleware mode: server.mjs is the HTTP server, so only asset URLs are looked up on disk.
  adapter: node({ mode: 'middleware' }),
  // The middleware refuses every state-changing request (forms and JSON alike) whose Origin
  // does not match; Astro's own check covers forms only and compares with a URL the Node
  // adapter builds as localhost.
  security: { checkOrigin: false },
  server: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 4321) },
  vite: {
    plugins: [tailwindcss()],
    ssr: { external: ['better-sqlite3', '@node-rs/argon2'] },
  },
});
