/**
 * The per-DP secret: issued by the site (or by the agent on its first start), kept by the agent in a
 * file only its user can read, and in the site's DP row.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SitecastError } from '../../kernel/index.js';

/** A secret shorter than this is refused: it would be guessable from one captured signature. */
export const MIN_SECRET_LENGTH = 16;

/** 32 random bytes, base64url (43 characters: safe on a command line and in an environment variable). */
export function generateDpSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Trims the secret and checks it is usable; INVALID_PARAMETER naming `field` otherwise. */
export function checkDpSecret(secret: string, field: string): string {
  const s = secret.trim();
  if (s.length < MIN_SECRET_LENGTH || /\s/.test(s)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${field}: the DP secret must be at least ${MIN_SECRET_LENGTH} characters without spaces (\`sitecast dp secret\` prints a good one)`,
      { field },
    );
  }
  return s;
}

/** Reads a secret file; NOT_FOUND / INVALID_PARAMETER naming the file. */
export async function readSecretFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SitecastError('NOT_FOUND', `secret file ${path} cannot be read (${code ?? String(e)})`, {
      field: 'secretFile',
      path,
    });
  }
  return checkDpSecret(text, `secret file ${path}`);
}

/**
 * The secret kept in `path`, created (mode 0600, exclusively, so two starts cannot write different ones)
 * with `secret` (default: a new random one) when the file does not exist.
 */
export async function ensureSecretFile(
  path: string,
  secret = generateDpSecret(),
): Promise<{ readonly secret: string; readonly created: boolean }> {
  await mkdir(dirname(path), { recursive: true });
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(`${secret}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask cannot widen 0600, but an inherited ACL default could: be explicit.
    await chmod(path, 0o600);
    return { secret, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return { secret: await readSecretFile(path), created: false };
}
