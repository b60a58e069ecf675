/**
 * `sitecast demo`: the README's main job. One process opens a throw-away site (SQLite, PS1) with three
 * local-folder DPs and two DP agents on loopback, creates an image package from a small WIM, distributes it, replaces the WIM with a
 * slightly changed one, calls RefreshPkgSource, and shows that each DP received only the changed chunks
 * and now presents a file byte-identical to the source.
 */
import { copyFile, mkdir, mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PackageType } from '../catalog/index.js';
import {
  renderImageTable,
  reportWait,
  waitForPackage,
  type CliContext,
  type DemoCommandOptions,
  type WaitOutcome,
} from '../cli/index.js';
import { renderDpTable } from '../cli/index.js';
import { SitecastError } from '../kernel/index.js';
import { agentDpNames, startDemoAgents } from './demo-agents.js';
import { childDpName, childSiteCode, startDemoHierarchy } from './demo-child-site.js';
import { checkDemoResult, printDemoResult, sha256File, type DemoPhaseFigures } from './demo-result.js';

const dpNames = ['DP01', 'DP02', 'DP03'] as const;
const siteCode = 'PS1';
const imageName = 'Windows 11 Enterprise (sitecast demo)';

/**
 * The fixture folder, found relative to this module: src/app and dist/app are both two levels below the
 * repository root, where test/fixtures/demo lives.
 */
export function demoFixturesDir(): string {
  return fileURLToPath(new URL('../../test/fixtures/demo/', import.meta.url));
}

async function requireFile(path: string): Promise<void> {
  try {
    if ((await stat(path)).isFile()) return;
  } catch {
    // reported below
  }
  throw new SitecastError(
    'SOURCE_NOT_FOUND',
    `demo image ${path} is missing; run scripts/make-demo-wims.sh to create it`,
    { path },
  );
}

/** A fresh temp folder, or the given one if it is new or empty (a used one would mix two demos). */
async function prepareDir(dir: string | undefined): Promise<string> {
  if (dir === undefined) return mkdtemp(join(tmpdir(), 'sitecast-demo-'));
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  const entries = await readdir(abs);
  if (entries.length > 0) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `demo folder ${abs} is not empty; give a new or empty folder (or no --dir)`,
      {
        field: 'dir',
        path: abs,
      },
    );
  }
  return abs;
}

export async function runDemo(options: DemoCommandOptions, ctx: CliContext): Promise<number> {
  const started = Date.now();
  const fixtures = demoFixturesDir();
  const v1 = join(fixtures, 'install-v1.wim');
  const v2 = join(fixtures, 'install-v2.wim');
  await requireFile(v1);
  await requireFile(v2);
  const dir = await prepareDir(options.dir);
  const settings = ctx.settings({ home: dir, db: join(dir, 'site.db'), siteCode });
  const say = (text: string): void => ctx.print(text);
  const cmd = (text: string): void => ctx.print(`  $ sitecast ${text}`);

  say(`sitecast demo — site ${siteCode} in ${dir} (SQLite database ${settings.db})\n`);
  const site = await ctx.localSite();

  say('1. Three distribution points, each a folder on this disk');
  for (const name of dpNames) {
    const root = join(dir, 'dps', name);
    cmd(`dp add --name ${name} --path ${root}`);
    await site.dps.addLocal({ name, root });
  }
  say('\n1b. Two remote distribution points: DP agents on loopback, reached over HTTP with signed requests');
  const agents = await startDemoAgents(site, dir, cmd);
  try {
    return await demoPackage();
  } finally {
    await agents.close();
  }

  async function demoPackage(): Promise<number> {
    const source = join(dir, 'source', 'install.wim');
    await mkdir(join(dir, 'source'), { recursive: true });
    await copyFile(v1, source);
    say(`\n2. An OS image package from ${source} (the January build, ${(await stat(source)).size} bytes)`);
    cmd(`image new --name "${imageName}" --path ${source}`);
    const pkg = await site.packages.create(PackageType.SMS_ImagePackage, {
      Name: imageName,
      PkgSourcePath: source,
      Version: '22631.2861',
    });
    const packageId = pkg.packageId;
    say(`  ${packageId}`);
    cmd(`image show ${packageId}        # SMS_ImageInformation, read from the WIM's XML`);
    say(indent(renderImageTable(await site.packages.listImages(packageId))));

    const allDps = [...dpNames, ...agentDpNames];
    say(`\n3. Distribute it to ${allDps.join(', ')}: the first snapshot, then every chunk to every DP`);
    cmd(`content distribute ${packageId} ${allDps.map((n) => `--dp ${n}`).join(' ')} --wait`);
    let since = Date.now();
    await site.distribution.addDistributionPoints(packageId, allDps);
    const first = await waitPhase(ctx, packageId, since);

    say(
      `\n3b. A child site: secondary site ${childSiteCode} under ${siteCode}, with its own DP ${childDpName} (a branch region)`,
    );
    cmd(`server --site-code ${childSiteCode} --role secondary --parent <${siteCode} URL> --join-secret …`);
    cmd(
      `--site-code ${childSiteCode} dp add --name ${childDpName} --path ${join(dir, childSiteCode, 'dps', childDpName)}`,
    );
    cmd(`--site-code ${childSiteCode} content distribute ${packageId} --dp ${childDpName}`);
    const h = await startDemoHierarchy(ctx, site, settings, dir, packageId, ctx.workerLog);
    try {
      await h.waitForChildDp(packageId, 1);
      say(`  ${childSiteCode} received SourceVersion 1 from ${siteCode} and installed it on ${childDpName}`);

      say(
        '\n4. The source changes: the February build (one text file edited, 4 KiB patched in one binary, one file added)',
      );
      say(`  copy ${v2} over ${source}`);
      await copyFile(v2, source);
      cmd(
        `dp update ${packageId} --wait        # RefreshPkgSource(): SourceVersion + 1, only missing chunks travel`,
      );
      since = Date.now();
      await site.distribution.refreshPkgSource(packageId);
      const second = await waitPhase(ctx, packageId, since);
      await h.waitForChildDp(packageId, 2);
      const childFile = join(h.childDpRoot, packageId, 'install.wim');
      const childSame = (await sha256File(childFile)) === (await sha256File(source));
      say(`\n${siteCode} status across the hierarchy (sitecast status ${packageId} at ${siteCode}):`);
      const rows = await site.status.hierarchyDpStatus(packageId);
      // DPs of other sites are named with their site: S01/BR01.
      say(
        indent(
          renderDpTable(
            rows.map((r) =>
              r.SiteCode === site.siteCode ? r : { ...r, ServerName: `${r.SiteCode}/${r.ServerName}` },
            ),
          ),
        ),
      );
      if (!childSame) {
        throw new SitecastError(
          'HASH_MISMATCH',
          `${childFile} at site ${childSiteCode} differs from the source`,
          {
            path: childFile,
          },
        );
      }
      say(`  ${childSiteCode}/${childDpName} serves SourceVersion 2, byte-identical: ${childFile}`);

      const figures: DemoPhaseFigures = { initial: first.rows, refresh: second.rows };
      const result = await checkDemoResult({
        site,
        packageId,
        source,
        dir,
        figures,
        elapsedMs: Date.now() - started,
      });
      printDemoResult(ctx, result);
      if (result.problems.length > 0) {
        throw new SitecastError(
          result.problemCode,
          `the demo did not end as expected: ${result.problems.join('; ')}`,
          { packageId },
        );
      }
      return 0;
    } finally {
      await h.close();
    }
  }
}

/** Waits for the package's work with progress; in human mode prints the per-DP table it ended with. */
async function waitPhase(ctx: CliContext, packageId: string, since: number): Promise<WaitOutcome> {
  const outcome = await waitForPackage(ctx, { packageId, since, work: true });
  if (outcome.interrupted) throw new SitecastError('CANCELLED', 'demo interrupted', { packageId });
  if (!ctx.json) await reportWait(ctx, outcome);
  return outcome;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
