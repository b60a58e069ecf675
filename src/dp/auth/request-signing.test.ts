import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../kernel/index.js';
import { ensureSecretFile, readSecretFile } from './dp-secret.js';
import { ReplayGuard } from './replay-guard.js';
import {
  keyIdOf,
  sha256OfBody,
  signRequest,
  verifyBodyHash,
  verifyChunkFramesDigest,
  verifyRequest,
  type VerifyInput,
} from './request-signing.js';

const secret = 'a-secret-of-enough-length-0123456789';
const path = '/dp/v1/chunks/batch?packageId=PS100001';
const body = Buffer.from('chunk bytes');

function signed(
  clock: FakeClock,
  overrides: Partial<{ method: string; path: string; body: Buffer; secret: string }> = {},
) {
  const headers = signRequest({
    secret: overrides.secret ?? secret,
    method: overrides.method ?? 'POST',
    pathAndQuery: overrides.path ?? path,
    body: overrides.body ?? body,
    clock,
  });
  return { authorization: headers.authorization, contentSha256: headers['x-content-sha256']! };
}

/** A chunk upload signed in mode chunk-frames-v1 (the digest stands for ../http/chunk-batch.ts's). */
const framesDigest = sha256OfBody(Buffer.from('frames of the batch'));
function framesSigned(clock: FakeClock, digest = framesDigest) {
  const headers = signRequest({
    secret,
    method: 'POST',
    pathAndQuery: path,
    chunkFramesSha256: digest,
    clock,
  });
  return {
    authorization: headers.authorization,
    contentSha256: headers['x-content-sha256'],
    chunkFramesSha256: headers['x-chunk-frames-sha256'],
  };
}

function reasonOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return (
      (e as { code: string; details: { reason: string } }).code +
      ':' +
      (e as { details: { reason: string } }).details.reason
    );
  }
  return 'accepted';
}

function verify(
  clock: FakeClock,
  h: { authorization?: string; contentSha256?: string; chunkFramesSha256?: string },
  over: Partial<VerifyInput> = {},
) {
  return verifyRequest({
    secret,
    method: 'POST',
    pathAndQuery: path,
    authorization: h.authorization,
    contentSha256: h.contentSha256,
    chunkFramesSha256: h.chunkFramesSha256,
    clock,
    ...over,
  });
}

describe('DP request signing', () => {
  it('accepts a genuine request, and its body', () => {
    const clock = new FakeClock();
    const h = signed(clock);
    expect(verify(clock, h)).toEqual({ keyId: keyIdOf(secret), ts: clock.now(), bodyDigest: 'body' });
    expect(() => verifyBodyHash(h.contentSha256, body)).not.toThrow();
    expect(h.authorization).toMatch(
      /^Sitecast-HMAC keyId=[0-9a-f]{16}, ts=\d+, nonce=[0-9a-f]{32}, sig=[0-9a-f]{64}$/,
    );
    expect(h.authorization).not.toContain(secret);
  });

  it('refuses a tampered method, path, query, timestamp or body hash, and a body that does not match', () => {
    const clock = new FakeClock();
    const h = signed(clock);
    expect(reasonOf(() => verify(clock, h, { method: 'DELETE' }))).toBe('ACCESS_DENIED:signature');
    expect(reasonOf(() => verify(clock, h, { pathAndQuery: '/dp/v1/chunks/batch?packageId=PS100002' }))).toBe(
      'ACCESS_DENIED:signature',
    );
    expect(reasonOf(() => verify(clock, h, { pathAndQuery: '/dp/v1/packages/PS100001' }))).toBe(
      'ACCESS_DENIED:signature',
    );
    const otherHash = signed(clock, { body: Buffer.from('other') }).contentSha256;
    expect(reasonOf(() => verify(clock, { ...h, contentSha256: otherHash }))).toBe('ACCESS_DENIED:signature');
    const ts = /ts=(\d+)/.exec(h.authorization)![1]!;
    const shifted = h.authorization.replace(`ts=${ts}`, `ts=${Number(ts) + 1}`);
    expect(reasonOf(() => verify(clock, { ...h, authorization: shifted }))).toBe('ACCESS_DENIED:signature');
    expect(reasonOf(() => verifyBodyHash(h.contentSha256, Buffer.from('chunk byteZ')))).toBe(
      'ACCESS_DENIED:body',
    );
    expect(reasonOf(() => verifyBodyHash(h.contentSha256, body.subarray(0, 5)))).toBe('ACCESS_DENIED:body');
  });

  it('tells a missing header, a malformed one and another secret apart', () => {
    const clock = new FakeClock();
    expect(reasonOf(() => verify(clock, {}))).toBe('ACCESS_DENIED:missing');
    expect(reasonOf(() => verify(clock, { authorization: 'Bearer x', contentSha256: '0'.repeat(64) }))).toBe(
      'ACCESS_DENIED:malformed',
    );
    const other = signed(clock, { secret: 'another-secret-of-enough-length' });
    expect(reasonOf(() => verify(clock, other))).toBe('ACCESS_DENIED:unknown-key');
  });

  it('refuses a request older or newer than the skew window, and accepts one inside it', () => {
    const clock = new FakeClock();
    const h = signed(clock);
    clock.advance(5 * 60_000);
    expect(reasonOf(() => verify(clock, h))).toBe('accepted');
    clock.advance(1);
    expect(reasonOf(() => verify(clock, h))).toBe('ACCESS_DENIED:stale');
    const early = new FakeClock(clock.now() + 6 * 60_000);
    expect(reasonOf(() => verify(clock, signed(early)))).toBe('ACCESS_DENIED:stale');
    expect(reasonOf(() => verify(clock, h, { skewMs: 10 * 60_000 }))).toBe('accepted');
  });

  it('refuses the same request twice with a replay guard, until its window has passed', () => {
    const clock = new FakeClock();
    const replay = new ReplayGuard(0);
    const h = signed(clock);
    expect(reasonOf(() => verify(clock, h, { replay }))).toBe('accepted');
    expect(reasonOf(() => verify(clock, h, { replay }))).toBe('ACCESS_DENIED:replayed');
    expect(reasonOf(() => verify(clock, signed(clock), { replay }))).toBe('accepted');
    // A forgery takes no slot.
    expect(reasonOf(() => verify(clock, signed(clock, { secret: 'x'.repeat(20) }), { replay }))).toBe(
      'ACCESS_DENIED:unknown-key',
    );
    expect(replay.size).toBe(2);
    clock.advance(5 * 60_000 + 1);
    expect(reasonOf(() => verify(clock, signed(clock), { replay }))).toBe('accepted');
    expect(replay.size).toBe(1);
  });
});

describe('DP request signing, chunk-frames-v1 mode', () => {
  it('signs the frame digest instead of the body, and accepts it where chunk frames are allowed', () => {
    const clock = new FakeClock();
    const h = framesSigned(clock);
    expect(h.contentSha256).toBeUndefined();
    expect(h.chunkFramesSha256).toBe(framesDigest);
    expect(verify(clock, h, { chunkFramesAllowed: true })).toEqual({
      keyId: keyIdOf(secret),
      ts: clock.now(),
      bodyDigest: 'chunk-frames-v1',
    });
    expect(() => verifyChunkFramesDigest(h.chunkFramesSha256!, framesDigest)).not.toThrow();
    expect(reasonOf(() => verifyChunkFramesDigest(h.chunkFramesSha256!, sha256OfBody(body)))).toBe(
      'ACCESS_DENIED:body',
    );
    expect(reasonOf(() => verifyChunkFramesDigest(h.chunkFramesSha256!, 'not hex'))).toBe(
      'ACCESS_DENIED:body',
    );
  });

  it('refuses frame signing on a request that must sign its body, and both digests at once', () => {
    const clock = new FakeClock();
    const h = framesSigned(clock);
    expect(reasonOf(() => verify(clock, h))).toBe('ACCESS_DENIED:malformed');
    expect(reasonOf(() => verify(clock, h, { chunkFramesAllowed: false }))).toBe('ACCESS_DENIED:malformed');
    expect(
      reasonOf(() => verify(clock, { ...h, contentSha256: framesDigest }, { chunkFramesAllowed: true })),
    ).toBe('ACCESS_DENIED:malformed');
    expect(
      reasonOf(() =>
        verify(clock, { ...h, chunkFramesSha256: 'F'.repeat(64) }, { chunkFramesAllowed: true }),
      ),
    ).toBe('ACCESS_DENIED:malformed');
  });

  it('never lets a frame digest pass for a body digest, or the other way round', () => {
    const clock = new FakeClock();
    // The same 64 hex digits, signed in one mode and presented in the other.
    const frames = framesSigned(clock, sha256OfBody(body));
    expect(
      reasonOf(() =>
        verify(clock, { authorization: frames.authorization, contentSha256: frames.chunkFramesSha256 }),
      ),
    ).toBe('ACCESS_DENIED:signature');
    const whole = signed(clock);
    expect(
      reasonOf(() =>
        verify(
          clock,
          { authorization: whole.authorization, chunkFramesSha256: whole.contentSha256 },
          { chunkFramesAllowed: true },
        ),
      ),
    ).toBe('ACCESS_DENIED:signature');
    const other = framesSigned(clock, sha256OfBody(Buffer.from('other frames')));
    expect(
      reasonOf(() =>
        verify(
          clock,
          { ...frames, chunkFramesSha256: other.chunkFramesSha256 },
          { chunkFramesAllowed: true },
        ),
      ),
    ).toBe('ACCESS_DENIED:signature');
  });

  it('refuses a replayed frame-signed request', () => {
    const clock = new FakeClock();
    const replay = new ReplayGuard(0);
    const h = framesSigned(clock);
    expect(reasonOf(() => verify(clock, h, { replay, chunkFramesAllowed: true }))).toBe('accepted');
    expect(reasonOf(() => verify(clock, h, { replay, chunkFramesAllowed: true }))).toBe(
      'ACCESS_DENIED:replayed',
    );
  });

  it('refuses a frame digest that is not SHA-256 hex when signing', () => {
    expect(() =>
      signRequest({
        secret,
        method: 'POST',
        pathAndQuery: path,
        chunkFramesSha256: 'xyz',
        clock: new FakeClock(),
      }),
    ).toThrow(/chunkFramesSha256/);
  });
});

describe('DP secret files', () => {
  it('creates a 0600 secret file once and reads the same secret afterwards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sitecast-secret-'));
    try {
      const file = join(dir, '.sitecast', 'agent-secret');
      const first = await ensureSecretFile(file);
      expect(first.created).toBe(true);
      expect(first.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await ensureSecretFile(file)).toEqual({ secret: first.secret, created: false });
      await writeFile(join(dir, 'short'), 'abc\n');
      await expect(readSecretFile(join(dir, 'short'))).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
      await expect(readSecretFile(join(dir, 'absent'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
