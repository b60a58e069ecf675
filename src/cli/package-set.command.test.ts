import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testHome, wimV1, type TestHome } from './cli.test-helpers.js';

describe('sitecast image set --refresh-schedule (in-process, SQLite)', () => {
  let home: TestHome;
  beforeEach(() => {
    home = testHome();
  });
  afterEach(() => home.cleanup());

  it('stores a RefreshSchedule given as a schedule string, shows it as tokens, and clears it', async () => {
    const source = home.putSource(wimV1);
    const packageId = (await home.run(['image', 'new', '--name', 'Win11', '--path', source])).stdout.trim();
    // Every 7 days from 1970-02-01 (reference §5).
    const set = await home.run(['image', 'set', packageId, '--refresh-schedule', '0001200000100038']);
    expect(set.code, set.stderr).toBe(0);
    const shown = JSON.parse((await home.run(['--json', 'package', 'show', packageId])).stdout) as {
      RefreshSchedule: { Kind: number; DaySpan: number }[];
    };
    expect(shown.RefreshSchedule).toEqual([expect.objectContaining({ Kind: 2, DaySpan: 7 })]);

    const bad = await home.run(['image', 'set', packageId, '--refresh-schedule', '0001200000100039X']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_PARAMETER/);

    expect((await home.run(['image', 'set', packageId, '--refresh-schedule', 'none'])).code).toBe(0);
    const cleared = JSON.parse((await home.run(['--json', 'package', 'show', packageId])).stdout) as {
      RefreshSchedule: unknown[];
    };
    expect(cleared.RefreshSchedule).toEqual([]);
  });
});
