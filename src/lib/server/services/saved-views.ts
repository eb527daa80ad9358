import { UnknownContextError } from '../volume/contexts.ts';
import { NOT_FOUND_MESSAGE } from '../core/errors.ts';
import type { ConsoleRuntime } from './runtime.ts';
import { routeComposite } from './browsing.ts';
import { mayOpen } from '../auth/routes.ts';
import { deleteView, findView, listViews, saveView, type SavedView } from '../store/saved-views.ts';

/**
 * Saved views as pages and the API use them, always through the route's context: the
 * middleware has already decided the user may see it, and a view is looked up only within
 * it, so a view saved on another context is simply not there. SQL views exist only for
 * the roles that may run SQL, like the SQL page itself.
 */

function user(locals: App.Locals) {
  if (!locals.user) throw new UnknownContextError('', NOT_FOUND_MESSAGE);
  return locals.user;
}

/** The views of the route's context the user may open: shared ones and their own. */
export function savedViewsOf(runtime: ConsoleRuntime, locals: App.Locals, ctxParam: string | undefined): SavedView[] {
  const handle = routeComposite(locals, ctxParam);
  const who = user(locals);
  return listViews(runtime.store, handle.context.name, who.id).filter((view) => view.kind === 'browse' || mayOpen(who, 'run-sql'));
}

/** Saves a view on the route's context, audited; a SQL view only for those who may run SQL. */
export function saveViewOn(runtime: ConsoleRuntime, locals: App.Locals, ctxParam: string | undefined, input: Record<string, unknown>): SavedView {
  const handle = routeComposite(locals, ctxParam);
  const who = user(locals);
  if (input.kind === 'sql' && !mayOpen(who, 'run-sql')) throw new UnknownContextError(handle.context.name, NOT_FOUND_MESSAGE);
  return saveView(runtime.store, { context: handle.context.name, owner: { id: who.id, username: who.username }, ...pick(input) });
}

function pick(input: Record<string, unknown>) {
  return { name: input.name, description: input.description, kind: input.kind, target: input.target, shared: input.shared };
}

/** A view the user may open on the route's context, of `kind` when one is asked for; anything else is not found. */
export function openableView(runtime: ConsoleRuntime, locals: App.Locals, ctxParam: string | undefined, idText: string | undefined, kind?: SavedView['kind']): SavedView {
  const handle = routeComposite(locals, ctxParam);
  const who = user(locals);
  const id = Number(idText);
  const view = Number.isSafeInteger(id) ? findView(runtime.store, handle.context.name, who.id, id) : null;
  if (!view || (kind !== undefined && view.kind !== kind) || (view.kind === 'sql' && !mayOpen(who, 'run-sql'))) throw new UnknownContextError(handle.context.name, NOT_FOUND_MESSAGE);
  return view;
}

/** Deletes one of the user's own views of the route's context; anything else is not found. */
export function deleteOwnView(runtime: ConsoleRuntime, locals: App.Locals, ctxParam: string | undefined, idText: string | undefined): void {
  const handle = routeComposite(locals, ctxParam);
  const who = user(locals);
  const id = Number(idText);
  if (!Number.isSafeInteger(id) || !deleteView(runtime.store, handle.context.name, { id: who.id, username: who.username }, id)) {
    throw new UnknownContextError(handle.context.name, NOT_FOUND_MESSAGE);
  }
}

/**
 * Where a saved view leads: its page under the route's context path, never anywhere else,
 * and that page is then authorized like any URL.
 */
export function savedViewLocation(locals: App.Locals, view: SavedView): string {
  const ctxPath = locals.composite!.ctxPath;
  return view.kind === 'browse' ? `/${ctxPath}/${view.target}` : `/${ctxPath}/sql?view=${view.id}`;
}

/** A saved view as the API gives it. */
export function savedViewJson(locals: App.Locals, view: SavedView) {
  return {
    id: view.id,
    name: view.name,
    description: view.description,
    kind: view.kind,
    shared: view.shared,
    owner: view.ownerName,
    createdAt: view.createdAt,
    ...(view.kind === 'sql' ? { sql: view.target } : {}),
    href: savedViewLocation(locals, view),
  };
}
