import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeWim } from '../../test/support/make-wim.js';
import { testHome, type TestHome } from './cli.test-helpers.js';

describe('sitecast image show / inspect (in-process, SQLite)', () => {
  let home: TestHome;
  let wim: string;
  beforeEach(() => {
    home = testHome();
    wim = makeWim(join(home.dir, 'source', 'install.wim'), [
      {
        name: 'Windows 11 Enterprise',
        flags: 'Enterprise',
        properties: {
          'WINDOWS/ARCH': '9',
          'WINDOWS/VERSION/MAJOR': '10',
          'WINDOWS/VERSION/BUILD': '22631',
          'WINDOWS/LANGUAGES/DEFAULT': 'en-US',
        },
      },
      { name: 'Windows 11 Pro', flags: 'Professional', properties: { 'WINDOWS/ARCH': '12' } },
    ]);
  });
  afterEach(() => home.cleanup());

  it('image show prints one line per image, and SMS_ImageInformation rows with --json', async () => {
    const created = await home.run(['image', 'new', '--name', 'Win11', '--path', wim, '--index', '2']);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    const shown = await home.run(['image', 'show', id]);
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain('deploys image 2');
    expect(lines[1]).toMatch(/^Index\s+Name\s+Edition\s+Arch\s+OS version\s+Language\s+Size$/);
    expect(lines[2]).toMatch(
      /^\s*1\s+Windows 11 Enterprise\s+Enterprise\s+x64\s+10\.0\.22631\.0\s+en-US\s+\d/,
    );
    expect(lines[3]).toMatch(/^\s*2\s+Windows 11 Pro\s+Professional\s+ARM64\s/);

    const json = await home.run(['--json', 'image', 'show', id]);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows.map((r) => [r.PackageID, r.Index, r.Name, r.Architecture, r.ImageOSVersion])).toEqual([
      [id, 1, 'Windows 11 Enterprise', 9, '10.0.22631.0'],
      [id, 2, 'Windows 11 Pro', 12, ''],
    ]);
  }, 20_000);

  it('image inspect reads a WIM without creating anything: table, header facts, or --json', async () => {
    const r = await home.run(['image', 'inspect', wim]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/images 2, boot index none, compression LZX, part 1 of 1/);
    expect(r.stdout).toMatch(/\n\s*2\s+Windows 11 Pro\s+Professional\s+ARM64/);
    const j = await home.run(['--json', 'image', 'inspect', wim]);
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as {
      ImageProperty: string;
      Header: { imageCount: number };
      Images: { Index: number; Name: string }[];
    };
    expect(doc.ImageProperty).toContain('<NAME>Windows 11 Enterprise</NAME>');
    expect(doc.Header.imageCount).toBe(2);
    expect(doc.Images.map((i) => i.Name)).toEqual(['Windows 11 Enterprise', 'Windows 11 Pro']);
    const list = await home.run(['--json', 'package', 'list']);
    expect(JSON.parse(list.stdout)).toEqual([]);

    const solid = makeWim(join(home.dir, 'solid.wim'), [{ name: 'S' }], { solid: true });
    const s = await home.run(['image', 'inspect', solid]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/compression LZMS \(solid\)/);
    expect(s.stdout).toMatch(/warning: .*solid/i);
    // Creating a package from it works, and says what a solid WIM means for distribution.
    const created = await home.run(['image', 'new', '--name', 'Solid', '--path', solid]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/^warning: .*solid.*delta transfer cannot help/im);
  }, 20_000);

  it('rejects a bad --index, a file that is not a WIM and a relative path clearly', async () => {
    const bad = await home.run(['image', 'new', '--name', 'X', '--path', wim, '--index', '5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error 0x80041008 INVALID_PARAMETER: ImageIndex 5 .*available: 1, 2/);
    const junk = join(home.dir, 'junk.wim');
    writeFileSync(junk, Buffer.alloc(1000, 1));
    const notWim = await home.run(['image', 'inspect', junk]);
    expect(notWim.code).toBe(2);
    expect(notWim.stderr).toMatch(/^error 0x80041008 INVALID_PARAMETER: SourceImagePath .*junk\.wim/);
    const relative = await home.run(['image', 'inspect', 'install.wim']);
    expect(relative.code).toBe(2);
    expect(relative.stderr).toMatch(/SourceImagePath .*absolute/);
    for (const r of [bad, notWim, relative]) expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(JSON.parse((await home.run(['--json', 'package', 'list'])).stdout)).toEqual([]);
  }, 20_000);
});
