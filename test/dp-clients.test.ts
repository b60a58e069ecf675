/**
 * What a client downloads from a DP, end to end with real programs: a `sitecast server` process and three
 * `sitecast dp serve` processes on loopback — DP01 with a /content bearer token, DP02 open, DP03 a pull DP
 * sourcing from DP01 (then the site) — an image package whose source is a real WIM, distributed, then
 * refreshed twice (`dp update --wait`) after the WIM is re-captured. After each version curl (whole, one
 * range, several ranges, ETag and date revalidation, HEAD), wget (whole, and resuming a truncated copy) and
 * aria2c (4 connections) fetch install.wim from every DP: each copy must be the current source byte for byte.
 * CI=true fails when curl, wget, aria2c or wimlib-imagex is missing; elsewhere the file is skipped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSite } from '../src/app/site.js';
import { runCli } from '../src/cli/index.js';
import { killAllAgents, pollUntil, startAgent, type AgentProcess } from './support/agent-process.js';
import {
  missingPrograms,
  parseHeaderDump,
  parseMultipart,
  runProgram,
  type HeaderDump,
} from './support/download-clients.js';
import { captureFolderWim } from './support/make-wim.js';
import { killAllServers, spawnServer, type ServerProcess } from './support/server-process.js';

const MiB = 1024 * 1024;
const missing = missingPrograms(['curl', 'wget', 'aria2c', 'wimlib-imagex']);
if (missing.length > 0 && process.env.CI === 'true') {
  throw new Error(
    `CI=true and ${missing.join(', ')} not installed: the client download test cannot be skipped`,
  );
}
const skipReason = missing.length > 0 ? `${missing.join(', ')} not installed` : null;
if (skipReason) console.warn(`skipping dp-clients.test.ts: ${skipReason}`);

const CONTENT_TOKEN = 'client-content-token-0123456789';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Dp {
  readonly name: string;
  readonly agent: AgentProcess;
  /** Extra client headers: the bearer token on the protected DP. */
  readonly auth: readonly string[];
}

let tmp = '';
let server: ServerProcess | undefined;
let serverUrl = '';
let apiToken = '';
let dps: Dp[] = [];
let packageId = '';
const sourceTree = (): string => join(tmp, 'tree');
const sourceWim = (): string => join(tmp, 'source', 'install.wim');
/** ETag per DP of the version checked last. */
const lastEtags = new Map<string, string>();

class Text extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** The `sitecast` CLI in this process: against the running server (`remote`) or its home (`local`). */
async function sitecast(where: 'local' | 'remote', args: readonly string[]): Promise<string> {
  const stdout = new Text();
  const stderr = new Text();
  const target =
    where === 'remote' ? ['--server', serverUrl, '--token', apiToken] : ['--home', join(tmp, 'home')];
  const code = await runCli(
    [...target, ...args],
    { stdout, stderr, env: { SITECAST_CHUNKER_THREADS: '1' } },
    {
      openSite,
    },
  );
  if (code !== 0) throw new Error(`sitecast ${args.join(' ')} exited ${code}:\n${stderr.text}${stdout.text}`);
  return stdout.text;
}

interface StatusRow {
  readonly ServerName: string;
  readonly StateName: string;
  readonly SourceVersion: number;
}

/** Until every DP's row says INSTALLED on `version` (what `--wait` already waited for, read back). */
async function expectInstalled(version: number): Promise<void> {
  let rows: readonly StatusRow[] = [];
  await pollUntil(
    `every DP INSTALLED on SourceVersion ${version}`,
    async () => {
      const status = JSON.parse(await sitecast('remote', ['--json', 'status', packageId])) as {
        SMS_PackageStatusDistPointsSummarizer: StatusRow[];
      };
      rows = status.SMS_PackageStatusDistPointsSummarizer;
      const done = dps.every((dp) =>
        rows.some(
          (r) => r.ServerName === dp.name && r.StateName === 'INSTALLED' && r.SourceVersion === version,
        ),
      );
      return done ? true : undefined;
    },
    60_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; rows: ${JSON.stringify(rows)}`);
  });
}

/** A new build of the image: the tree changed by `change`, captured again over the source WIM. */
function recapture(change: (tree: string) => void): Buffer {
  change(sourceTree());
  rmSync(sourceWim(), { force: true });
  captureFolderWim(sourceTree(), sourceWim(), 'Windows 11 Enterprise');
  return readFileSync(sourceWim());
}

function put(rel: string, bytes: Buffer | string): void {
  mkdirSync(dirname(join(sourceTree(), rel)), { recursive: true });
  writeFileSync(join(sourceTree(), rel), bytes);
}

describe.skipIf(skipReason !== null)('DP content to real clients: curl, wget, aria2c', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sitecast-dp-clients-'));
    // v1: a system file of several MiB (so ranges and connections matter), a driver and two small files.
    put('Windows/System32/big.bin', randomBytes(6 * MiB));
    put('Windows/System32/drivers/storport.sys', randomBytes(200 * 1024));
    put('Windows/notes.txt', 'first build\n');
    put('readme.txt', 'sitecast client test image\n');
    recapture(() => undefined);

    // The admin's token first (this also creates the site database), then the server, which starts
    // while the agents do.
    const created = JSON.parse(
      await sitecast('local', ['--json', 'token', 'create', '--name', 'e2e', '--role', 'full']),
    ) as { Token: string };
    apiToken = created.Token;
    server = spawnServer({ home: join(tmp, 'home'), env: { SITECAST_CHUNKER_THREADS: '1' } });

    const tokenFile = join(tmp, 'content-token');
    writeFileSync(tokenFile, `${CONTENT_TOKEN}\n`);
    // One after the other: three tsx starts at once on a loaded machine can outlast startAgent's 30 s.
    const dp01 = await startAgent(join(tmp, 'dp01'), 'clients-dp01-secret-0123456789abcdef', 0, [
      '--content-token-file',
      tokenFile,
    ]);
    const dp02 = await startAgent(join(tmp, 'dp02'), 'clients-dp02-secret-0123456789abcdef');
    const dp03 = await startAgent(join(tmp, 'dp03'), 'clients-dp03-secret-0123456789abcdef');
    expect(dp01.output()).toContain('/content needs "Authorization: Bearer <content token>"');
    dps = [
      { name: 'DP01', agent: dp01, auth: ['Authorization: Bearer ' + CONTENT_TOKEN] },
      { name: 'DP02', agent: dp02, auth: [] },
      { name: 'DP03', agent: dp03, auth: [] },
    ];

    await server.running;
    await server.waitForOutput(/AdminService REST API at /, 0);
    serverUrl = /AdminService REST API at (http:\/\/127\.0\.0\.1:\d+)\//.exec(server.output)![1]!;

    for (const dp of dps.slice(0, 2)) {
      await sitecast('remote', [
        'dp',
        'add',
        '--name',
        dp.name,
        '--url',
        dp.agent.url,
        '--secret',
        dp.agent.secret,
      ]);
    }
    // The REST API does not add pull DPs: on the server's host, against its home.
    await sitecast('local', [
      'dp',
      'add',
      '--name',
      'DP03',
      '--url',
      dp03.url,
      '--secret',
      dp03.secret,
      '--pull',
      '--source',
      'DP01:1',
      '--source',
      'site:2',
      '--site-url',
      serverUrl,
    ]);
    packageId = (
      await sitecast('remote', ['image', 'new', '--name', 'Win11 clients', '--path', sourceWim()])
    ).trim();
    expect(packageId).toMatch(/^[A-Z0-9]{3}[0-9A-F]{5}$/);
    await sitecast('remote', ['content', 'distribute', packageId, '--dp', 'DP01', '--dp', 'DP02', '--wait']);
    // The pull DP after its source holds v1; later versions reach both at once.
    await sitecast('remote', ['content', 'distribute', packageId, '--dp', 'DP03', '--wait']);
    await expectInstalled(1);
  }, 180_000);

  afterAll(async () => {
    await killAllAgents();
    await killAllServers();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('v1: every DP gives curl, wget and aria2c the source WIM byte for byte', async () => {
    await checkEveryDp(1, readFileSync(sourceWim()));
  }, 120_000);

  it('v2 after dp update (a region rewritten, a file added, one removed): the clients get v2', async () => {
    const wim = recapture(() => {
      const big = readFileSync(join(sourceTree(), 'Windows/System32/big.bin'));
      randomBytes(512 * 1024).copy(big, 2 * MiB);
      put('Windows/System32/big.bin', big);
      put('Program Files/Contoso/app.dll', randomBytes(300 * 1024));
      rmSync(join(sourceTree(), 'Windows/notes.txt'));
    });
    await refresh(2);
    await checkEveryDp(2, wim);
  }, 180_000);

  it('v3 after another update: the clients get v3, and the v2 ETag no longer matches', async () => {
    const wim = recapture(() => {
      const big = readFileSync(join(sourceTree(), 'Windows/System32/big.bin'));
      put('Windows/System32/big.bin', Buffer.concat([big, randomBytes(MiB)]));
      rmSync(join(sourceTree(), 'Windows/System32/drivers/storport.sys'));
      put('readme.txt', 'sitecast client test image, third build\n');
    });
    const v2Etags = new Map(lastEtags);
    await refresh(3);
    await checkEveryDp(3, wim);
    for (const dp of dps) {
      const old = v2Etags.get(dp.name)!;
      expect(old).not.toBe(lastEtags.get(dp.name));
      const dir = join(tmp, 'old-etag', dp.name);
      mkdirSync(dir, { recursive: true });
      // A cache holding v2 revalidates: the answer is the new body, not 304.
      const revalidated = await curl(dp, ['-D', 'h', '-o', 'body', '-H', `If-None-Match: ${old}`], dir);
      expect(revalidated.status, dp.name).toBe(200);
      expect(sha(readFileSync(join(dir, 'body'))), dp.name).toBe(sha(wim));
      // A v2 partial copy resumed with If-Range gets the whole v3 file instead of v3 bytes glued onto v2.
      const resumed = await curl(dp, ['-D', 'h', '-o', 'body', '-r', '1000-', '-H', `If-Range: ${old}`], dir);
      expect(resumed.status, dp.name).toBe(200);
      expect(sha(readFileSync(join(dir, 'body'))), dp.name).toBe(sha(wim));
    }
  }, 180_000);
});

/** `dp update --wait` as an admin runs it: a new SourceVersion, waited for on every DP. */
async function refresh(version: number): Promise<void> {
  const out = JSON.parse(await sitecast('remote', ['--json', 'dp', 'update', packageId, '--wait'])) as {
    ReturnValue: number;
  };
  expect(out.ReturnValue).toBe(0);
  await expectInstalled(version);
}

async function checkEveryDp(version: number, wim: Buffer): Promise<void> {
  const etags = new Set<string>();
  const ranged: string[] = [];
  // The DP dates a file from the second after it arrived (see lastModified): let that second pass.
  await delay(1100);
  for (const dp of dps) {
    const dir = join(tmp, `v${version}`, dp.name);
    mkdirSync(dir, { recursive: true });
    const seen = await checkDp(dp, version, wim, dir);
    etags.add(seen.etag);
    ranged.push(`${dp.name} ${seen.ariaRanges}`);
  }
  console.log(
    `v${version}: install.wim ${wim.length} bytes byte-identical from curl, wget, wget -c, aria2c on ` +
      `${dps.length} DPs; aria2c ranged requests: ${ranged.join(', ')}`,
  );
  // The ETag names the version, so every DP holding it answers the same one.
  expect(etags.size).toBe(1);
}

const contentUrl = (dp: Dp): string => `${dp.agent.url}/content/${packageId}/install.wim`;

/** curl with the DP's auth headers; the response read from the `-D h` dump in `dir`. */
async function curl(dp: Dp, args: readonly string[], dir: string): Promise<HeaderDump> {
  const ran = await runProgram(
    'curl',
    ['-sS', ...dp.auth.flatMap((h) => ['-H', h]), ...args, contentUrl(dp)],
    dir,
  );
  expect(ran.code, `curl ${args.join(' ')}: ${ran.stderr}`).toBe(0);
  return parseHeaderDump(readFileSync(join(dir, 'h'), 'latin1'));
}

/** Every client against one DP; returns the file's ETag and how many ranged requests aria2c made. */
async function checkDp(
  dp: Dp,
  version: number,
  wim: Buffer,
  dir: string,
): Promise<{ readonly etag: string; readonly ariaRanges: number }> {
  const size = wim.length;
  const expected = sha(wim);
  const url = contentUrl(dp);
  const file = (name: string): Buffer => readFileSync(join(dir, name));

  if (dp.auth.length > 0) {
    const anonymous = await runProgram('curl', ['-sS', '-D', '-', '-o', '/dev/null', url]);
    const denied = parseHeaderDump(anonymous.stdout);
    expect(denied.status, `${dp.name} without the token`).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const wrong = await runProgram('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Authorization: Bearer nope',
      url,
    ]);
    expect(wrong.stdout, `${dp.name} with a wrong token`).toBe('401');
  }

  // curl, whole file: keep its ETag (--etag-save) and take Last-Modified as the file's time (-R).
  const whole = await curl(dp, ['-D', 'h', '-R', '--etag-save', 'etag', '-o', 'whole.wim'], dir);
  expect(whole.status, dp.name).toBe(200);
  expect(whole.headers.get('x-sitecast-version')).toBe(String(version));
  expect(sha(file('whole.wim')), `${dp.name} curl`).toBe(expected);
  const etag = whole.headers.get('etag')!;
  expect(whole.headers.get('last-modified'), `${dp.name} Last-Modified`).toMatch(/ GMT$/);
  expect(etag).toMatch(/^"[^"]+"$/);
  expect(file('etag').toString().trim()).toBe(etag);

  // HEAD: the headers of what a GET sends.
  const head = await curl(dp, ['-I', '-D', 'h', '-o', '/dev/null'], dir);
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe(String(size));
  expect(head.headers.get('accept-ranges')).toBe('bytes');
  expect(head.headers.get('etag')).toBe(etag);

  // One range across chunk boundaries.
  const one = await curl(dp, ['-D', 'h', '-r', `${MiB}-${3 * MiB - 1}`, '-o', 'range'], dir);
  expect(one.status).toBe(206);
  expect(one.headers.get('content-range')).toBe(`bytes ${MiB}-${3 * MiB - 1}/${size}`);
  expect(file('range').equals(wim.subarray(MiB, 3 * MiB)), `${dp.name} range`).toBe(true);

  // Several ranges: multipart/byteranges, each part with its own Content-Range.
  const asked = [
    [0, 99],
    [1000, 1999],
    [4 * MiB, 4 * MiB + 65_535],
    [size - 50, size - 1],
  ] as const;
  const multi = await curl(
    dp,
    ['-D', 'h', '-r', asked.map(([a, b]) => `${a}-${b}`).join(','), '-o', 'multi'],
    dir,
  );
  expect(multi.status).toBe(206);
  const type = multi.headers.get('content-type')!;
  expect(type).toMatch(/^multipart\/byteranges; boundary=/);
  expect(multi.headers.get('content-length')).toBe(String(file('multi').length));
  const parts = parseMultipart(file('multi'), type);
  expect(parts.map((p) => p.headers.get('content-range'))).toEqual(
    asked.map(([a, b]) => `bytes ${a}-${b}/${size}`),
  );
  parts.forEach((p, i) => {
    const [a, b] = asked[i]!;
    expect(p.body.equals(wim.subarray(a, b + 1)), `${dp.name} part ${i}`).toBe(true);
  });

  // Revalidation: the saved ETag (If-None-Match) and the file's time (-z: If-Modified-Since) → 304.
  const byEtag = await curl(dp, ['-D', 'h', '--etag-compare', 'etag', '-o', 'revalidated'], dir);
  expect(byEtag.status, `${dp.name} If-None-Match`).toBe(304);
  expect(existsSync(join(dir, 'revalidated')), 'curl wrote no body').toBe(false);
  const byDate = await curl(dp, ['-D', 'h', '-z', 'whole.wim', '-o', 'revalidated'], dir);
  expect(byDate.status, `${dp.name} If-Modified-Since ${whole.headers.get('last-modified')}`).toBe(304);

  // wget, whole file.
  const headers = dp.auth.map((h) => `--header=${h}`);
  const wget = await runProgram('wget', ['-nv', ...headers, '-O', 'wget.wim', url], dir);
  expect(wget.code, wget.stderr).toBe(0);
  expect(sha(file('wget.wim')), `${dp.name} wget`).toBe(expected);

  // wget -c on a copy cut short: it asks for the rest (206) and the file ends whole.
  const resumeDir = join(dir, 'resume');
  mkdirSync(resumeDir);
  const cut = Math.floor(size * 0.4);
  writeFileSync(join(resumeDir, 'install.wim'), wim.subarray(0, cut));
  const resumed = await runProgram('wget', ['-c', '-S', '--progress=dot:giga', ...headers, url], resumeDir);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stderr).toMatch(/HTTP\/1\.1 206/);
  expect(resumed.stderr.toLowerCase()).toContain(`content-range: bytes ${cut}-${size - 1}/${size}`);
  expect(sha(readFileSync(join(resumeDir, 'install.wim'))), `${dp.name} wget -c`).toBe(expected);

  // aria2c with 4 connections of 1 MiB pieces: the log shows the ranged requests it made.
  const aria = await runProgram(
    'aria2c',
    [
      '-x',
      '4',
      '-s',
      '4',
      '-k',
      '1M',
      ...dp.auth.map((h) => `--header=${h}`),
      '--allow-overwrite=true',
      '--auto-file-renaming=false',
      '--file-allocation=none',
      '--summary-interval=0',
      '--console-log-level=warn',
      '--log=aria2.log',
      '--log-level=info',
      '-d',
      dir,
      '-o',
      'aria2.wim',
      url,
    ],
    dir,
  );
  expect(aria.code, `${aria.stdout}${aria.stderr}`).toBe(0);
  expect(sha(file('aria2.wim')), `${dp.name} aria2c`).toBe(expected);
  const log = file('aria2.log').toString();
  const starts = new Set([...log.matchAll(/Range: bytes=(\d+)-/g)].map((m) => Number(m[1])));
  expect(
    [...starts].filter((s) => s > 0).length,
    `${dp.name}: aria2c ranged requests ${[...starts].join(', ')}`,
  ).toBeGreaterThanOrEqual(2);

  lastEtags.set(dp.name, etag);
  return { etag, ariaRanges: starts.size };
}
