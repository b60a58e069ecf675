/**
 * Child process for the kill test: activates ever newer versions of one package on a DP root, printing
 * `activated <version>` after each, until it is killed. Version n holds `contentOf(n)`.
 * Run: node --import tsx activate-loop.test-helpers.ts <root>
 */
import { pathToFileURL } from 'node:url';
import { FolderDpStore } from './folder-dp-store.js';
import { type BuiltVersion, buildVersion, chunksOf, seededFile } from './package-builder.test-helpers.js';

export const loopPackage = 'PS1000AA';

/** Odd versions and even versions differ in most chunks, so each activation receives and seeds. */
export function contentOf(version: number): BuiltVersion {
  const flavour = version % 2;
  return buildVersion(loopPackage, version, [
    { path: 'sources/install.wim', bytes: seededFile(`wim-${flavour}`, 96 * 4096) },
    { path: 'boot/boot.sdi', bytes: seededFile('sdi', 8 * 4096) },
    { path: `flavour-${flavour}.txt`, bytes: Buffer.from(`flavour ${flavour}\n`) },
  ]);
}

async function main(root: string): Promise<void> {
  const store = new FolderDpStore({ root });
  let version = ((await store.packageState(loopPackage))?.version ?? 0) + 1;
  for (;;) {
    const built = contentOf(version);
    const missing = await store.missingChunks(loopPackage, built.ids);
    await store.putChunks(loopPackage, chunksOf(built, missing));
    await store.activate(loopPackage, version, built.manifestId, built.manifestBytes, {
      seedFromExisting: true,
    });
    process.stdout.write(`activated ${version}\n`);
    version++;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[2] ?? '').catch((e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(1);
  });
}
