import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testHome, wimV1, type TestHome } from './cli.test-helpers.js';

describe('sitecast dp set (in-process, SQLite)', () => {
  let home: TestHome;
  beforeEach(() => {
    home = testHome();
  });
  afterEach(() => home.cleanup());

  it('sets a rate limit, an availability window, a validation schedule and maintenance mode', async () => {
    expect(
      (await home.run(['dp', 'add', '--name', 'DP01', '--path', join(home.dir, 'dps', 'DP01')])).code,
    ).toBe(0);
    const r = await home.run([
      'dp',
      'set',
      'DP01',
      '--rate-limit',
      '4MB/s',
      '--window',
      'Mon-Fri 08-18 closed',
      '--window',
      'Sat 00-06 high-only',
      '--time-zone',
      'Europe/Berlin',
      '--validation-schedule',
      '0001200000100038',
      '--validation-repair',
      '--maintenance',
      'on',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('DP01: rate limit 4000000B/s; maintenance mode ON');
    expect(r.stdout).toContain('content validation: 0001200000100038, repairing');
    expect(r.stdout).toContain(`  Mon ${'.'.repeat(8)}${'x'.repeat(10)}${'.'.repeat(6)}`);
    expect(r.stdout).toContain(`  Sat ${'h'.repeat(6)}${'.'.repeat(18)}`);

    const json = JSON.parse(
      (await home.run(['--json', 'dp', 'set', 'DP01', '--maintenance', 'off'])).stdout,
    ) as {
      Availability: string;
      MaintenanceMode: boolean;
      TimeZone: string;
    };
    expect(json.MaintenanceMode).toBe(false);
    expect(json.TimeZone).toBe('Europe/Berlin');
    expect(json.Availability.slice(24, 48)).toBe('000000003333333333000000');

    const bad = await home.run(['dp', 'set', 'DP01', '--window', 'Funday 08-18 closed']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown day in "Funday"');
    const badRate = await home.run(['dp', 'set', 'DP01', '--rate-limit', 'fast']);
    expect(badRate.stderr).toContain('rate limit "fast"');
  });

  it('--wait does not sit through a closed availability window: it says who waits and until when', async () => {
    const source = home.putSource(wimV1);
    const packageId = (await home.run(['image', 'new', '--name', 'Win11', '--path', source])).stdout.trim();
    expect(
      (await home.run(['dp', 'add', '--name', 'DP01', '--path', join(home.dir, 'dps', 'DP01')])).code,
    ).toBe(0);
    // Only high priority may send, all week; the package has normal priority.
    expect((await home.run(['dp', 'set', 'DP01', '--window', 'Sun-Sat 00-24 high-only'])).code).toBe(0);
    const r = await home.run(['content', 'distribute', packageId, '--dp', 'DP01', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'waiting: the availability window of DP01 never opens for priority 2 (medium)',
    );
    expect(r.stdout).toContain('DP01 waits: the availability window of DP01 never opens');
  });
});
