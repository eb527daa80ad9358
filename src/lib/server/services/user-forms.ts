import { problemOf } from '../core/errors.ts';
import { PasswordPolicyError } from '../auth/password.ts';
import { addUser, changeUserRole, disableUser, enableUser, parseTenantList, resetUserPassword } from '../auth/user-admin.ts';
import { UserInputError, type ConsoleUser } from '../auth/users.ts';
import type { ConsoleStore } from '../store/database.ts';

/** The users page's forms; each runs the same audited change as its API endpoint (user-admin.ts). */
const USER_FORM_ACTIONS = ['create', 'disable', 'enable', 'role', 'password'] as const;
export type UserFormAction = (typeof USER_FORM_ACTIONS)[number];

/** Which form a failure belongs to: `create`, or `<action>:<user id>` for a row's forms. */
export interface UserFormFailure {
  form: string;
  /** The input to show the message next to, when it is about one. */
  field: string | null;
  message: string;
  /** What was typed, shown again so it can be corrected (never the password). */
  values: Record<string, string>;
}

export type UserFormOutcome = { ok: true; action: UserFormAction; user: ConsoleUser } | { ok: false; status: number; failure: UserFormFailure };

function isUserFormAction(action: string): action is UserFormAction {
  return (USER_FORM_ACTIONS as readonly string[]).includes(action);
}

/**
 * A form of the users page (`action`, `userId` and the action's fields), changed and
 * audited as its endpoint would, for `actor` (whom the route's gate let through). A problem
 * the change met says which form and field it is about.
 */
export async function submitUserForm(store: ConsoleStore, actor: string, form: FormData): Promise<UserFormOutcome> {
  const text = (name: string) => String(form.get(name) ?? '');
  const action = text('action');
  const selector = { id: text('userId') };
  const role = text('role');
  const tenants = role === 'tenant' ? parseTenantList(text('tenants')) : [];
  const formKey = action === 'create' ? 'create' : `${action}:${selector.id}`;
  if (!isUserFormAction(action)) {
    return { ok: false, status: 400, failure: { form: formKey, field: null, message: 'That is not an action of this page; reload it and try again.', values: {} } };
  }
  try {
    const change: Record<UserFormAction, () => Promise<ConsoleUser>> = {
      create: () => addUser(store, actor, { username: text('username'), password: text('password'), role, tenants }),
      disable: () => disableUser(store, actor, selector),
      enable: () => enableUser(store, actor, selector),
      role: () => changeUserRole(store, actor, selector, { role, tenants }),
      password: () => resetUserPassword(store, actor, selector, text('password')),
    };
    return { ok: true, action, user: await change[action]() };
  } catch (error) {
    const problem = problemOf(error);
    if (!problem) throw error;
    const field = error instanceof UserInputError || error instanceof PasswordPolicyError ? error.field : null;
    return { ok: false, status: problem.status, failure: { form: formKey, field, message: problem.publicMessage, values: { username: text('username'), role, tenants: text('tenants') } } };
  }
}
