/**
 * Registering pull DPs: ranked sources stored in the DP's config, checked on add and on change — no self,
 * no unknown or local-folder source, the site only with a URL, and no loop through chains of pull DPs.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { eachDialect } from '../../test/support/dialects.js';
import { createTestSite, type TestSite } from '../../test/support/site-fixture.js';

eachDialect('pull DP sources', (dialect) => {
  let t: TestSite;
  const secret = 'pull-sources-secret-0123456789abcdef';
  // Nothing listens there: the DPs are added offline, as `dp add` does when the site issues the secret.
  const add = (name: string, pull?: Parameters<TestSite['site']['dps']['addHttp']>[0]['pull']) =>
    t.site.dps.addHttp({
      name,
      url: 'http://127.0.0.1:9',
      secret,
      allowOffline: true,
      ...(pull && { pull }),
    });

  beforeEach(async () => {
    t = await createTestSite(dialect);
  });
  afterEach(() => t.close());

  it('stores ranked sources (default: the site) and refuses bad ones, naming them', async () => {
    await expect(add('DP01', {})).rejects.toThrow(/lists the site as a source but no site URL/);
    const a = (await add('DP01', { siteUrl: 'http://site:8080/' })).dp;
    expect(a).toMatchObject({
      isPull: true,
      config: { sources: [{ dp: 'site', rank: 1 }], siteUrl: 'http://site:8080' },
    });
    await add('DP02');
    const b = (
      await add('DP03', {
        sources: [
          { dp: 'site', rank: 2 },
          { dp: 'dp02', rank: 1 },
        ],
        siteUrl: 'http://site:8080',
      })
    ).dp;
    expect(b.config).toMatchObject({
      sources: [
        { dp: 'DP02', rank: 1 },
        { dp: 'site', rank: 2 },
      ],
    });
    expect((await t.site.dps.get('DP02')).isPull).toBe(false);

    await expect(add('DP04', { sources: [{ dp: 'DP04', rank: 1 }] })).rejects.toThrow(/cannot list itself/);
    await expect(add('DP04', { sources: [{ dp: 'DP99', rank: 1 }] })).rejects.toThrow(
      /source DP DP99 of pull DP DP04 does not exist/,
    );
    await expect(
      add('DP04', {
        sources: [
          { dp: 'DP02', rank: 1 },
          { dp: 'dp02', rank: 2 },
        ],
      }),
    ).rejects.toThrow(/listed twice/);
    await expect(add('DP04', { sources: [{ dp: 'DP02', rank: 0 }] })).rejects.toThrow(
      /rank 0 must be 1–1000/,
    );
    expect((await t.site.dps.list()).map((d) => d.name)).not.toContain('DP04');
  });

  it('refuses a local-folder source, loops on add and on change (naming the cycle), and removing a source in use', async () => {
    await t.site.dps.addLocal({ name: 'LOCAL1', root: `${t.dir}/local1` });
    await add('DP02');
    await expect(add('DP05', { sources: [{ dp: 'LOCAL1', rank: 1 }] })).rejects.toThrow(
      /is a local DP: only DP agents/,
    );
    await add('DP05', { sources: [{ dp: 'DP02', rank: 1 }] });
    await add('DP06', { sources: [{ dp: 'DP05', rank: 1 }] });
    await add('DP07', {
      sources: [
        { dp: 'DP06', rank: 1 },
        { dp: 'DP02', rank: 2 },
      ],
    });
    // DP05 → DP07 → DP06 → DP05.
    const loop = t.site.dps.setPullSources('DP05', { sources: [{ dp: 'DP07', rank: 1 }] });
    await expect(loop).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
      details: { cycle: ['DP05', 'DP07', 'DP06', 'DP05'] },
    });
    await expect(t.site.dps.setPullSources('DP05', { sources: [{ dp: 'DP06', rank: 1 }] })).rejects.toThrow(
      /pull sources would loop: DP05 → DP06 → DP05/,
    );
    expect((await t.site.dps.get('DP05')).config).toMatchObject({ sources: [{ dp: 'DP02', rank: 1 }] });
    await expect(t.site.dps.setPullSources('DP02', { sources: [{ dp: 'DP05', rank: 1 }] })).rejects.toThrow(
      /DP02 is not a pull DP/,
    );
    const changed = await t.site.dps.setPullSources('DP07', { sources: [{ dp: 'DP02', rank: 1 }] });
    expect(changed.config).toMatchObject({ sources: [{ dp: 'DP02', rank: 1 }] });
    await expect(t.site.dps.remove('DP02')).rejects.toThrow(/DP02 is a pull source of DP05, DP07/);
    await t.site.dps.remove('DP07');
  });
});
