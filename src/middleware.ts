import type { APIContext, MiddlewareNext } from 'astro';
import { defineMiddleware } from 'astro:middleware';
import { getLucia } from './lib/server/auth/lucia.ts';
import { classifyRoute, metricsAccess, refusalFor, routeLabel } from './lib/server/auth/routes.ts';
import { observeHttp } from './lib/server/metrics/metrics.ts';
import { compositeHandle } from './lib/server/services/runtime.ts';
import { errorResponse, isStateChanging, jsonError, originAllowed, pageErrorResponse, problemResponse } from './lib/server/web/http.ts';
import { NOT_FOUND_MESSAGE } from './lib/server/core/errors.ts';
import { storeAsProblem } from './lib/server/store/database.ts';
import { UnknownContextError } from './lib/server/volume/contexts.ts';
import { getSettings } from './lib/server/core/config.ts';

function isApi(pathname: string): boolean {
  return pathname === '/api' || pathname.startsWith('/api/');
}

/**
 * Every request passes here: session → locals.user, URL → context, authorization, then a
 * ready composite handle in locals. A context the user may not see is answered exactly
 * like one that does not exist.
 */
export const onRequest = defineMiddleware(async (context, next) => {
  const started = performance.now();
  let status = 500;
  try {
    const response = await routeRequest(context, next);
    status = response.status;
    return response;
  } catch (error) {
    // The console's own database gone, damaged or on a full disk (the session lookup meets
    // it first) is said plainly, and anything else is a logged fault: the JSON envelope for
    // the API and the metrics, words for pages, never an empty 500.
    const failed = storeAsProblem(error);
    const inEnvelope = isApi(context.url.pathname) || context.locals.route?.kind === 'metrics';
    const response = inEnvelope ? errorResponse(failed, context.url.pathname) : pageErrorResponse(failed, context.url.pathname);
    status = response.status;
    return response;
  } finally {
    observeHttp(routeLabel(context.locals.route, isApi(context.url.pathname)), status, (performance.now() - started) / 1000);
  }
});

async function routeRequest(context: APIContext, next: MiddlewareNext): Promise<Response> {
  const { request, url, cookies, locals } = context;
  const api = isApi(url.pathname);
  locals.user = null;
  locals.session = null;
  locals.composite = null;
  // The path exactly as sent: Astro's url has %5c decoded and turned into '/', which would
  // let `acme%5c..%5cglobex` be judged as one context and routed as another.
  locals.route = classifyRoute(new URL(request.url).pathname);

  if (isStateChanging(request.method) && !originAllowed(request, getSettings().publicOrigin)) {
    return jsonError(403, 'bad_origin', 'This request did not come from a page of this console (Origin header missing or different), so it was refused.');
  }

  const lucia = getLucia();
  const sessionId = cookies.get(lucia.sessionCookieName)?.value ?? null;
  if (sessionId) {
    const { session, user } = await lucia.validateSession(sessionId);
    if (session?.fresh) {
      const cookie = lucia.createSessionCookie(session.id);
      cookies.set(cookie.name, cookie.value, cookie.attributes);
    }
    if (!session) {
      const cookie = lucia.createBlankSessionCookie();
      cookies.set(cookie.name, cookie.value, cookie.attributes);
    }
    if (session && user) {
      locals.session = session;
      locals.user = { id: user.id, username: user.username, role: user.role, tenants: user.tenants };
    }
  }

  const route = locals.route;
  if (route.kind === 'public') return next();
  if (route.kind === 'metrics') {
    switch (metricsAccess(locals.user, request.headers.get('authorization'), getSettings().metricsToken)) {
      case 'allowed':
        return next();
      case 'sign-in':
        return jsonError(401, 'not_signed_in', 'Send Authorization: Bearer <TRUTH_YARD_METRICS_TOKEN>, or sign in as an admin.', { 'www-authenticate': 'Bearer' });
      case 'bad-token':
        return jsonError(401, 'bad_token', 'The bearer token is not the one set in TRUTH_YARD_METRICS_TOKEN.', { 'www-authenticate': 'Bearer error="invalid_token"' });
      case 'not-found':
        return jsonError(404, 'not_found', NOT_FOUND_MESSAGE);
    }
  }
  if (!locals.user) {
    if (api) return jsonError(401, 'not_signed_in', 'Sign in first: POST /api/login with {"username", "password"}.');
    return context.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
  }

  const notFound = () => (api ? jsonError(404, 'not_found', NOT_FOUND_MESSAGE) : context.rewrite('/404'));
  const refusal = refusalFor(locals.user, route);
  if (refusal?.status === 404) return notFound();
  const target = route.kind === 'context' || route.kind === 'gated' ? route.context : null;
  if (target) {
    try {
      locals.composite = compositeHandle(target, locals.user.username);
    } catch (error) {
      if (error instanceof UnknownContextError) return notFound();
      throw error;
    }
  }
  // Any other refusal says why, which tells that the context exists, so it comes only after that is known.
  if (refusal) return api ? problemResponse(refusal) : notFound();

  if (api) return next();
  try {
    return await next();
  } catch (error) {
    // A page that finds its URL does not name the authorized context shows the same 404.
    if (error instanceof UnknownContextError) return context.rewrite('/404');
    throw error;
  }
}
