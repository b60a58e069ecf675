/** The demo's last steps: what every DP ended with, what each transfer cost, and byte-for-byte proof. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { formatBytes, renderTable, type CliContext } from '../cli/index.js';
import { DpState, type ContentExtraInfo, type DistPointStatus } from '../distribution/index.js';
import type { ErrorCode } from '../kernel/index.js';
import type { SiteHandle } from './site.js';

/** The per-DP rows each wait ended with: BytesSent there is what that phase's transfer sent. */
export interface DemoPhaseFigures {
  readonly initial: readonly DistPointStatus[];
  readonly refresh: readonly DistPointStatus[];
}

export interface DemoDpResult {
  readonly Name: string;
  readonly StateName: string;
  readonly SourceVersion: number;
  readonly BytesSentInitial: number;
  readonly BytesSentRefresh: number;
  /** BytesSentRefresh as a share of the new file's full size. */
  readonly PercentSent: number;
  readonly PresentedPath: string;
  readonly Sha256: string | null;
  readonly Identical: boolean;
}

export interface DemoResult {
  readonly Directory: string;
  readonly PackageID: string;
  readonly SourcePath: string;
  readonly SourceSize: number;
  readonly SourceSha256: string;
  readonly Database: string;
  readonly ContentLibrary: string;
  readonly SMS_ObjectContentExtraInfo: ContentExtraInfo;
  readonly DistributionPoints: readonly DemoDpResult[];
  readonly ElapsedMs: number;
  readonly problems: readonly string[];
  /** The error code the demo exits with when something is off. */
  readonly problemCode: ErrorCode;
}

const expectedVersion = 2;

/** SHA-256 of a file, streamed; null when it cannot be read. */
export async function sha256File(path: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch {
    return null;
  }
  return hash.digest('hex');
}

/** SHA-256 of what a client downloads from `url` (a DP agent's `/content`), or null when it cannot. */
export async function sha256Url(url: string): Promise<string | null> {
  try {
    const response = await fetch(url);
    if (!response.ok || !response.body) return null;
    const hash = createHash('sha256');
    for await (const piece of response.body) hash.update(piece as Uint8Array);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

export async function checkDemoResult(input: {
  readonly site: SiteHandle;
  readonly packageId: string;
  readonly source: string;
  readonly dir: string;
  readonly figures: DemoPhaseFigures;
  readonly elapsedMs: number;
}): Promise<DemoResult> {
  const { site, packageId, source, figures } = input;
  const info = await site.status.contentExtraInfo(packageId);
  const rows = await site.status.distPointStatus(packageId);
  const dps = new Map((await site.dps.list()).map((dp) => [dp.name, dp]));
  const sourceSize = (await stat(source)).size;
  const sourceSha = (await sha256File(source)) ?? '';
  const problems: string[] = [];
  const codes: ErrorCode[] = [];
  const problem = (code: ErrorCode, text: string): void => {
    problems.push(text);
    codes.push(code);
  };
  if (info.SourceVersion !== expectedVersion)
    problem('FAILED', `SourceVersion is ${info.SourceVersion}, expected ${expectedVersion}`);
  const results: DemoDpResult[] = [];
  for (const r of rows) {
    const dp = dps.get(r.ServerName);
    // A local DP's file is read where it lies; an agent's is downloaded from its /content, as a client would.
    const presented =
      dp?.config.kind === 'http'
        ? `${dp.config.url}/content/${packageId}/${basename(source)}`
        : join(dp?.config.kind === 'local' ? dp.config.root : '', packageId, basename(source));
    const sha = dp?.config.kind === 'http' ? await sha256Url(presented) : await sha256File(presented);
    const sentInitial = figures.initial.find((x) => x.ServerName === r.ServerName)?.BytesSent ?? 0;
    const sentRefresh = figures.refresh.find((x) => x.ServerName === r.ServerName)?.BytesSent ?? 0;
    if (r.State !== DpState.INSTALLED || r.SourceVersion !== expectedVersion) {
      problem(
        'DP_UNAVAILABLE',
        `${r.ServerName} is ${r.StateName} at SourceVersion ${r.SourceVersion}${r.LastError ? ` (${r.LastError})` : ''}`,
      );
    }
    if (sha !== sourceSha)
      problem('HASH_MISMATCH', `${presented} ${sha === null ? 'cannot be read' : 'differs from the source'}`);
    results.push({
      Name: r.ServerName,
      StateName: r.StateName,
      SourceVersion: r.SourceVersion,
      BytesSentInitial: sentInitial,
      BytesSentRefresh: sentRefresh,
      PercentSent: sourceSize > 0 ? Math.round((sentRefresh * 1000) / sourceSize) / 10 : 0,
      PresentedPath: presented,
      Sha256: sha,
      Identical: sha === sourceSha,
    });
  }
  if (rows.length !== dps.size) problem('FAILED', `${rows.length} of ${dps.size} DPs hold the package`);
  return {
    Directory: input.dir,
    PackageID: packageId,
    SourcePath: source,
    SourceSize: sourceSize,
    SourceSha256: sourceSha,
    Database: site.settings.db,
    ContentLibrary: join(site.settings.home, 'content'),
    SMS_ObjectContentExtraInfo: info,
    DistributionPoints: results,
    ElapsedMs: input.elapsedMs,
    problems,
    problemCode: codes[0] ?? 'FAILED',
  };
}

export function printDemoResult(ctx: CliContext, r: DemoResult): void {
  if (ctx.json) {
    ctx.printJson({ ...r, Ok: r.problems.length === 0 });
    return;
  }
  const info = r.SMS_ObjectContentExtraInfo;
  const say = (text: string): void => ctx.print(text);
  say(`\n5. Result (sitecast status ${r.PackageID})`);
  say(
    `  SourceVersion ${info.SourceVersion}; ${info.NumberSuccess} of ${info.Targeted} DPs installed, ` +
      `${info.NumberInProgress} in progress, ${info.NumberErrors} failed`,
  );
  const table = renderTable(
    [
      { header: 'DP' },
      { header: 'State' },
      { header: 'Version', align: 'right' },
      { header: 'Sent for v1', align: 'right' },
      { header: 'Sent for v2', align: 'right' },
      { header: 'v2 full size', align: 'right' },
      { header: 'v2 sent / size', align: 'right' },
    ],
    r.DistributionPoints.map((d) => [
      d.Name,
      d.StateName,
      String(d.SourceVersion),
      formatBytes(d.BytesSentInitial),
      formatBytes(d.BytesSentRefresh),
      formatBytes(r.SourceSize),
      `${d.PercentSent.toFixed(1)}%`,
    ]),
  );
  say(indent(table));
  say(
    `\n6. Verification: SHA-256 of each DP's install.wim against the source (${r.SourceSha256.slice(0, 16)}…)`,
  );
  for (const d of r.DistributionPoints) {
    say(`  ${d.Name}  ${d.Identical ? 'identical' : 'DIFFERENT'}  ${d.PresentedPath}`);
  }
  const firstDp = r.DistributionPoints[0];
  say('\nLook at the files:');
  if (firstDp) say(`  DP content        ${firstDp.PresentedPath} (and the same under each DP)`);
  say(`  site database     ${r.Database}`);
  say(`  content library   ${r.ContentLibrary}`);
  say(`  the same status   sitecast --home ${r.Directory} status ${r.PackageID}`);
  say(
    r.problems.length === 0
      ? `\nAll ${r.DistributionPoints.length} DPs serve SourceVersion 2, byte-identical to the source. Done in ${(r.ElapsedMs / 1000).toFixed(1)} s.`
      : `\nSomething is off: ${r.problems.join('; ')}`,
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}
