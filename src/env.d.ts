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
  }
}
