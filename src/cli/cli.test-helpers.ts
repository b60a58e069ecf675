/** Running the CLI in-process against a temp home, with stdout and stderr captured. */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { openSite } from '../app/site.js';
import type { CliIo } from './cli-io.js';
import { runCli } from './run-cli.js';

export const fixtures = fileURLToPath(new URL('../../test/fixtures/demo/', import.meta.url));
export const wimV1 = join(fixtures, 'install-v1.wim');
export const wimV2 = join(fixtures, 'install-v2.wim');

export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TestHome {
  readonly dir: string;
  /** Runs `sitecast --home <dir> …args` in this process. */
  run(args: readonly string[], options?: { shutdown?: AbortSignal; stdout?: Capture }): Promise<CliResult>;
  /** The source WIM path in the home, a copy of `from`. */
  putSource(from: string): string;
  cleanup(): void;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function testHome(): TestHome {
  const dir = mkdtempSync(join(tmpdir(), 'sitecast-cli-'));
  // One chunker thread: the test machine is small and shared.
  const env = { SITECAST_CHUNKER_THREADS: '1' };
  return {
    dir,
    async run(args, options = {}) {
      const stdout = options.stdout ?? new Capture();
      const stderr = new Capture();
      const io: CliIo = { stdout, stderr, env, ...(options.shutdown && { shutdown: options.shutdown }) };
      const code = await runCli(['--home', join(dir, 'home'), ...args], io, { openSite });
      return { code, stdout: stdout.text, stderr: stderr.text };
    },
    putSource(from) {
      mkdirSync(join(dir, 'source'), { recursive: true });
      const path = join(dir, 'source', 'install.wim');
      copyFileSync(from, path);
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
