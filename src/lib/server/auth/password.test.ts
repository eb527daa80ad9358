import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy, hashPassword, PASSWORD_MIN_LENGTH, PasswordPolicyError, verifyPassword } from './password.ts';

describe('password hashing', () => {
  it('stores an argon2id hash that verifies the right password and no other', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored).not.toContain('correct horse battery');
    expect(await verifyPassword(stored, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse batterY')).toBe(false);
    expect(await verifyPassword(stored, '')).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same password twice')).not.toBe(await hashPassword('same password twice'));
  });

  it('treats a damaged stored hash as a wrong password', async () => {
    expect(await verifyPassword('not-a-hash', 'whatever password')).toBe(false);
  });
});

describe('password policy', () => {
  it('asks for at least the minimum length, saying how long the password was', () => {
    expect(() => checkPasswordPolicy('short')).toThrow(PasswordPolicyError);
    expect(() => checkPasswordPolicy('short')).toThrow(`at least ${PASSWORD_MIN_LENGTH} characters long (it has 5)`);
    expect(() => checkPasswordPolicy('x'.repeat(PASSWORD_MIN_LENGTH))).not.toThrow();
  });

  it('counts characters, not bytes', () => {
    expect(() => checkPasswordPolicy('🔑'.repeat(PASSWORD_MIN_LENGTH - 1))).toThrow(`(it has ${PASSWORD_MIN_LENGTH - 1})`);
  });

  it('refuses passwords of only spaces and absurdly long ones', () => {
    expect(() => checkPasswordPolicy(' '.repeat(12))).toThrow(/only spaces/);
    expect(() => checkPasswordPolicy('a'.repeat(10_000))).toThrow(/at most/);
  });

  it('is applied before hashing', async () => {
    await expect(hashPassword('tooshort')).rejects.toBeInstanceOf(PasswordPolicyError);
  });
});
