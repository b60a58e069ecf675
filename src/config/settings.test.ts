import { describe, expect, it } from 'vitest';
import { isSitecastError } from '../kernel/index.js';
import { loadSettings } from './settings.js';

function errorOf(env: NodeJS.ProcessEnv): unknown {
  try {
    loadSettings({ home: '/tmp/h' }, env);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('settings: job lease', () => {
  it('defaults to 60 s, takes SITECAST_LEASE_MS, and a flag beats the environment', () => {
    expect(loadSettings({ home: '/tmp/h' }, {}).leaseMs).toBe(60_000);
    expect(loadSettings({ home: '/tmp/h' }, { SITECAST_LEASE_MS: '1500' }).leaseMs).toBe(1500);
    expect(loadSettings({ home: '/tmp/h', leaseMs: 2000 }, { SITECAST_LEASE_MS: '1500' }).leaseMs).toBe(2000);
  });

  it('rejects a lease under 1 s or not an integer, naming the setting', () => {
    const short = errorOf({ SITECAST_LEASE_MS: '999' });
    expect(isSitecastError(short, 'INVALID_PARAMETER') && short.message).toMatch(/leaseMs/);
    const word = errorOf({ SITECAST_LEASE_MS: '2s' });
    expect(isSitecastError(word, 'INVALID_PARAMETER') && word.message).toMatch(/SITECAST_LEASE_MS/);
  });
});

describe('settings: DP health interval', () => {
  it('defaults to 60 s, takes SITECAST_DP_HEALTH_INTERVAL_MS, and refuses under 1 s naming the setting', () => {
    expect(loadSettings({ home: '/tmp/h' }, {}).dpHealthIntervalMs).toBe(60_000);
    expect(
      loadSettings({ home: '/tmp/h' }, { SITECAST_DP_HEALTH_INTERVAL_MS: '15000' }).dpHealthIntervalMs,
    ).toBe(15_000);
    const short = errorOf({ SITECAST_DP_HEALTH_INTERVAL_MS: '500' });
    expect(isSitecastError(short, 'INVALID_PARAMETER') && short.message).toMatch(/dpHealthIntervalMs/);
    const word = errorOf({ SITECAST_DP_HEALTH_INTERVAL_MS: '1m' });
    expect(isSitecastError(word, 'INVALID_PARAMETER') && word.message).toMatch(
      /SITECAST_DP_HEALTH_INTERVAL_MS/,
    );
  });
});
