import readline from 'node:readline';
import { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import type { Settings } from '../lib/server/core/config.ts';
import { ROLES } from '../lib/server/auth/access.ts';
import { addUser, disableUser, enableUser, resetUserPassword } from '../lib/server/auth/user-admin.ts';
import { findUserByUsername, listUsers, UserNotFoundError, type ConsoleUser } from '../lib/server/auth/users.ts';
import { openConsoleStore, type ConsoleStore } from '../lib/server/store/database.ts';
import { EXIT, printJson, printTable, UsageError } from './output.ts';

/** The audit log's name for whoever runs the command line. */
const CLI_ACTOR = 'cli';

export interface UserCommandContext {
  settingsFor: () => Settings;
  reporting: <A extends unknown[]>(action: (...args: A) => number | Promise<number>) => (...args: A) => void | Promise<void>;
}

/** Asks for a password on the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  let muted = false;
  // Everything readline writes goes through here: the question is shown, the typing is not.
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    let answered = false;
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      process.stderr.write('\n');
      if (!answered) reject(new UsageError('no password given; nothing was changed'));
    });
    rl.question(question, (answer) => {
      answered = true;
      resolve(answer);
      rl.close();
    });
    muted = true;
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The new password, from standard input or asked for twice on the terminal. Never from an
 * argument: those stay in shell history and are visible to everyone in `ps`.
 */
async function readNewPassword(fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) {
    // One line, as `printf '%s\n' "$PASSWORD" | yard user …` or a secrets file sends it.
    const password = (await readStdin()).replace(/\r?\n$/, '');
    if (/[\r\n]/.test(password)) throw new UsageError('--password-stdin takes one line: the password');
    return password;
  }
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password on; pipe it in with --password-stdin');
  const password = await promptHidden('New password: ');
  if ((await promptHidden('Repeat it: ')) !== password) throw new UsageError('the two passwords differ; nothing was changed');
  return password;
}

/** Runs a change against the console database; input the user got wrong is a problem that exits 2 with its message. */
async function withStore(settings: Settings, change: (store: ConsoleStore) => Promise<number> | number): Promise<number> {
  const store = openConsoleStore(settings.stateDir);
  try {
    return await change(store);
  } finally {
    store.close();
  }
}

function describeUser(user: ConsoleUser): string {
  return `${user.username} (${user.role}${user.tenants.length > 0 ? ` of ${user.tenants.join(', ')}` : ''}${user.disabled ? ', disabled' : ''})`;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `yard user …`: manage who can sign in to the console. Every change is audited as `cli`. */
export function registerUserCommands(program: Command, { settingsFor, reporting }: UserCommandContext): void {
  const user = program.command('user').description('manage console users (every change is written to the audit log)');

  user
    .command('add')
    .description('create a user; the password is asked for, or read from stdin with --password-stdin')
    .requiredOption('--username <name>', 'user name: 3 to 64 letters, digits, ".", "_", "@" or "-"')
    .addOption(new Option('--role <role>', 'what the user may do').choices(ROLES).makeOptionMandatory())
    .option('--tenant <id>', 'a tenant the user may read, for the tenant role (repeat for more)', collect, [])
    .option('--password-stdin', 'read the password from standard input instead of asking')
    .action(
      reporting(async (options: { username: string; role: string; tenant: string[]; passwordStdin?: boolean }) => {
        const settings = settingsFor();
        const password = await readNewPassword(options.passwordStdin);
        return withStore(settings, async (store) => {
          const created = await addUser(store, CLI_ACTOR, { username: options.username, password, role: options.role, tenants: options.tenant });
          process.stdout.write(`created ${describeUser(created)}\n`);
          return EXIT.ok;
        });
      }),
    );

  user
    .command('list')
    .description('list users with role, tenants and status')
    .option('--json', 'machine-readable output')
    .action(
      reporting((options: { json?: boolean }) =>
        withStore(settingsFor(), (store) => {
          const users = listUsers(store);
          if (options.json) printJson(users);
          else
            printTable(
              ['USERNAME', 'ROLE', 'TENANTS', 'STATUS', 'CREATED'],
              users.map((u) => [u.username, u.role, u.tenants.join(',') || '-', u.disabled ? 'disabled' : 'active', u.createdAt]),
            );
          return EXIT.ok;
        }),
      ),
    );

  user
    .command('disable')
    .description('stop a user from signing in and end their sessions')
    .argument('<username>', 'the user')
    .action(
      reporting((username: string) =>
        withStore(settingsFor(), async (store) => {
          process.stdout.write(`disabled ${describeUser(await disableUser(store, CLI_ACTOR, { username }))}; their sessions have ended\n`);
          return EXIT.ok;
        }),
      ),
    );

  user
    .command('enable')
    .description('let a disabled user sign in again')
    .argument('<username>', 'the user')
    .action(
      reporting((username: string) =>
        withStore(settingsFor(), async (store) => {
          process.stdout.write(`enabled ${describeUser(await enableUser(store, CLI_ACTOR, { username }))}\n`);
          return EXIT.ok;
        }),
      ),
    );

  user
    .command('passwd')
    .description("set a user's password and end their sessions")
    .argument('<username>', 'the user')
    .option('--password-stdin', 'read the password from standard input instead of asking')
    .action(
      reporting((username: string, options: { passwordStdin?: boolean }) =>
        withStore(settingsFor(), async (store) => {
          // Before asking, so a mistyped name does not cost typing a password twice.
          if (!findUserByUsername(store, username)) throw new UserNotFoundError(username);
          const changed = await resetUserPassword(store, CLI_ACTOR, { username }, await readNewPassword(options.passwordStdin));
          process.stdout.write(`set a new password for ${changed.username}; their sessions have ended\n`);
          return EXIT.ok;
        }),
      ),
    );
}
