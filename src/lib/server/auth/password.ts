import { hash, verify, type Options } from '@node-rs/argon2';
import { ProblemError } from '../core/errors.ts';

export const PASSWORD_MIN_LENGTH = 10;
/** Generous for passphrases, small enough that a request cannot make hashing expensive. */
export const PASSWORD_MAX_LENGTH = 256;

/**
 * argon2id with OWASP's first recommended configuration (19 MiB, 2 passes, 1 lane).
 * `algorithm` is 2 (Argon2id): the package declares it as a const enum, which isolated
 * modules cannot import.
 */
const ARGON2ID_OPTIONS: Options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** A new password that does not meet the policy; the message says what is needed. */
export class PasswordPolicyError extends ProblemError {
  /** The form field to show the message next to, like UserInputError's. */
  readonly field = 'password';

  constructor(message: string) {
    super('invalid_input', message, 400);
  }
}

/** Throws PasswordPolicyError unless the password may be set. */
export function checkPasswordPolicy(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw new PasswordPolicyError(`The password must be at least ${PASSWORD_MIN_LENGTH} characters long (it has ${length}); a few unrelated words make a good one.`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new PasswordPolicyError(`The password must be at most ${PASSWORD_MAX_LENGTH} characters long (it has ${length}).`);
  }
  if (password.trim() === '') {
    throw new PasswordPolicyError('The password must not be only spaces.');
  }
}

/** Hashes a new password (checked against the policy first) as an argon2id PHC string. */
export async function hashPassword(password: string): Promise<string> {
  checkPasswordPolicy(password);
  return hash(password, ARGON2ID_OPTIONS);
}

/** True when the password matches; a malformed stored hash never matches. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  // No password that could have been set is longer (at most two UTF-16 units a character).
  if (password.length > 2 * PASSWORD_MAX_LENGTH) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
