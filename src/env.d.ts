/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    /** The signed-in user, or null; always set by the middleware. */
    user: import('./lib/server/auth/access.ts').SessionUser | null;
    session: import('lucia').Session | null;
    /** What the URL is about, as the middleware authorized it. */
    route: import('./lib/server/auth/routes.ts').RouteAccess;
    /** The composite of the route's context, for context routes; null elsewhere. */
    composite: import('./lib/server/services/runtime.ts').CompositeHandle | null;
    /** The Node response under this request, set by the HTTP front (absent under `astro dev`): a download waits for its socket to drain. */
    nodeResponse?: import('node:http').ServerResponse;
    /** The path as the client sent it (dot segments resolved, escapes kept), set by the HTTP front; see objectNameOf. */
    requestPath?: string;
  }
}
