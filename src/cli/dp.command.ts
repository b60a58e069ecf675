import type { Command } from 'commander';
import type { DistributionPoint } from '../distribution/index.js';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import {
  checkDpSecret,
  createDpAgent,
  ensureSecretFile,
  generateDpSecret,
  keyIdOf,
  readSecretFile,
} from '../dp/index.js';
import { SitecastError } from '../kernel/index.js';
import type { CliContext } from './cli-context.js';
import { addWaitOptions, finishQueued, intArg, type Act, type WaitFlags } from './command-kit.js';
import { renderTable } from './table.js';
import { formatAgo, formatBytes, timestamp, truncate } from './units.js';

interface ServeOptions {
  readonly dir: string;
  readonly port: number;
  readonly host: string;
  readonly secretFile?: string;
  readonly contentTokenFile?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

interface AddOptions {
  readonly name: string;
  readonly path?: string;
  readonly url?: string;
  readonly secret?: string;
  readonly secretFile?: string;
  readonly priority?: number;
  readonly pull?: boolean;
  readonly source?: readonly PullSourceArg[];
  readonly siteUrl?: string;
}

interface PullSourceArg {
  readonly dp: string;
  readonly rank: number;
}

/** `--source DP05[:rank]` (repeatable; rank 1 when omitted; `site` is the site itself). */
function sourceArg(value: string, previous: readonly PullSourceArg[] = []): PullSourceArg[] {
  const m = /^([^:\s]+)(?::(\d{1,4}))?$/.exec(value.trim());
  if (!m) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `--source ${JSON.stringify(value)} must be <DP name or site>[:<rank>], e.g. DP05:1`,
      { field: 'source' },
    );
  }
  return [...previous, { dp: m[1]!, rank: m[2] === undefined ? 1 : Number(m[2]) }];
}

function sourcesText(dp: DistributionPoint): string {
  if (!dp.isPull || dp.config.kind !== 'http') return '';
  return (dp.config.sources ?? [{ dp: 'site', rank: 1 }]).map((s) => `${s.dp}:${s.rank}`).join(', ');
}

/** SMS_DistributionPointInfo as scripts read it, plus where a local-folder DP keeps its files. */
function dpInfo(dp: DistributionPoint, packages?: readonly string[]): Record<string, unknown> {
  return {
    NALPath: dp.nalPath,
    ServerName: dp.serverName,
    Name: dp.name,
    SiteCode: dp.siteCode,
    IsPullDP: dp.isPull,
    Priority: dp.priority,
    MaintenanceMode: dp.maintenanceMode,
    Kind: dp.kind,
    Root: dp.config.kind === 'local' ? dp.config.root : null,
    // Never the secret: `dp add` shows it once, when it issues it.
    Url: dp.config.kind === 'http' ? dp.config.url : null,
    ...(dp.isPull &&
      dp.config.kind === 'http' && {
        PullSources: dp.config.sources ?? [{ dp: 'site', rank: 1 }],
        SiteUrl: dp.config.siteUrl ?? null,
      }),
    ...(packages && { PackageCount: packages.length, Packages: packages }),
    ...healthInfo(dp),
  };
}

/** The health monitor's view, named as SMS_DistributionPointInfo names it. */
function healthInfo(dp: DistributionPoint): Record<string, unknown> {
  const h = dp.health;
  const iso = (ms: number | null | undefined): string | null =>
    ms === null || ms === undefined ? null : new Date(ms).toISOString();
  return {
    HealthState: h?.state ?? 'unknown',
    LastHealthError: h?.lastError ?? null,
    LastContactTime: iso(h?.lastContactAt),
    LastHealthCheckTime: iso(h?.checkedAt),
    FreeBytes: h?.freeBytes ?? null,
  };
}

/** Health, Last contact, Free, Last error: the `dp list` table's health columns. */
function healthCells(dp: DistributionPoint, now: number): string[] {
  const h = dp.health;
  return [
    h?.state ?? 'unknown',
    formatAgo(h?.lastContactAt ?? null, now),
    h?.freeBytes === null || h?.freeBytes === undefined ? '-' : formatBytes(h.freeBytes),
    h?.lastError ? truncate(h.lastError, 60) : '',
  ];
}

/** `dp add|list|remove` (the site's DPs) and `dp update` (Update-CMDistributionPoint = RefreshPkgSource). */
export function registerDpCommands(program: Command, act: Act): void {
  const dpCmd = program.command('dp').description('distribution points');

  dpCmd
    .command('add')
    .description('add a distribution point: a local folder (--path) or a DP agent (--url)')
    .requiredOption('--name <name>', 'server-style name, e.g. DP01')
    .option('--path <dir>', 'local-folder DP: absolute folder that will hold the DP content')
    .option('--url <url>', 'remote DP: base URL of its `sitecast dp serve` agent, e.g. http://dp04:8450')
    .option('--secret <secret>', 'with --url: the secret the agent runs with (else a new one is issued)')
    .option('--secret-file <file>', 'with --url: read the secret from this file')
    .option(
      '--priority <n>',
      'DP priority (lower is served first; default 200)',
      intArg('--priority', 1, 10_000),
    )
    .option('--pull', 'with --url: a pull DP, fetching content itself from its --source list')
    .option(
      '--source <dp[:rank]>',
      'with --pull: a source DP (a DP agent) or "site", rank 1 first (repeatable; default site:1)',
      sourceArg,
    )
    .option(
      '--site-url <url>',
      "with --pull: where the DP reaches this site's chunk routes (for source site)",
    )
    .action(act(async (ctx, o: AddOptions) => addDp(ctx, o)));

  dpCmd
    .command('sources')
    .description("change a pull DP's ranked sources (checked as on add: existing, not itself, no loop)")
    .argument('<name>')
    .requiredOption('--source <dp[:rank]>', 'a source DP or "site" (repeatable)', sourceArg)
    .option('--site-url <url>', "where the DP reaches this site's chunk routes")
    .action(
      act(async (ctx, name: string, o: { source: PullSourceArg[]; siteUrl?: string }) => {
        const site = await ctx.site();
        const dp = await site.dps.setPullSources(name, {
          sources: o.source,
          ...(o.siteUrl !== undefined && { siteUrl: o.siteUrl }),
        });
        ctx.result(
          () => dpInfo(dp),
          () => `${dp.name} pulls from ${sourcesText(dp)}`,
        );
      }),
    );

  dpCmd
    .command('secret')
    .description('print a new random DP secret (for `dp add --secret` and `dp serve --secret-file`)')
    .action(
      act((ctx) => {
        const secret = generateDpSecret();
        ctx.result(
          () => ({ Secret: secret }),
          () => secret,
        );
        return Promise.resolve();
      }),
    );

  dpCmd
    .command('serve')
    .description('run a DP agent: serve a DP folder to the site over /dp/v1 until SIGINT/SIGTERM')
    .requiredOption('--dir <folder>', 'the DP folder (created if missing)')
    .option('--port <n>', 'TCP port (0 picks a free one)', intArg('--port', 0, 65_535), 8450)
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option(
      '--secret-file <file>',
      'the DP secret (default $SITECAST_DP_SECRET, else <folder>/.sitecast/agent-secret, created on first start)',
    )
    .option(
      '--content-token-file <file>',
      'clients must send "Authorization: Bearer <token>" on /content, the token read from this file (default $SITECAST_CONTENT_TOKEN; unset: open)',
    )
    .option('--tls-cert <pem>', 'serve HTTPS with this certificate (with --tls-key)')
    .option('--tls-key <pem>', 'private key of --tls-cert')
    .action(act(async (ctx, o: ServeOptions) => serveDp(ctx, o)));

  dpCmd
    .command('list')
    .description('the site distribution points and how many packages each holds')
    .action(
      act(async (ctx) => {
        const site = await ctx.site();
        const dps = await site.dps.list();
        const held = await Promise.all(dps.map((dp) => site.packagesOnDp(dp)));
        ctx.result(
          () => dps.map((dp, i) => dpInfo(dp, held[i])),
          () =>
            dps.length === 0
              ? 'No distribution points.'
              : renderTable(
                  [
                    { header: 'Name' },
                    { header: 'Kind' },
                    { header: 'NALPath' },
                    { header: 'Root / URL' },
                    { header: 'Packages', align: 'right' },
                    { header: 'Health' },
                    { header: 'Last contact' },
                    { header: 'Free', align: 'right' },
                    { header: 'Last error' },
                  ],
                  dps.map((dp, i) => [
                    dp.name,
                    dp.isPull ? `${dp.kind} pull ← ${sourcesText(dp)}` : dp.kind,
                    dp.nalPath,
                    dp.config.kind === 'local' ? dp.config.root : dp.config.url,
                    String(held[i]!.length),
                    ...healthCells(dp, Date.now()),
                  ]),
                ),
        );
      }),
    );

  dpCmd
    .command('remove')
    .description('remove a distribution point that holds no package')
    .argument('<name>')
    .action(
      act(async (ctx, name: string) => {
        const site = await ctx.site();
        const dp = await site.dps.get(name);
        await site.dps.remove(name);
        ctx.result(
          () => ({ ReturnValue: 0, NALPath: dp.nalPath }),
          () => `${dp.name} removed`,
        );
      }),
    );

  addWaitOptions(
    dpCmd
      .command('update')
      .description(
        'Update-CMDistributionPoint: RefreshPkgSource — snapshot the source, SourceVersion + 1, update every DP',
      )
      .argument('<PackageID>'),
  ).action(
    act(async (ctx, packageId: string, o: WaitFlags) => {
      const site = await ctx.site();
      const since = Date.now();
      const r = await site.distribution.refreshPkgSource(packageId);
      return finishQueued(
        ctx,
        o,
        { packageId, since },
        {
          json: { JobID: r.id, Coalesced: r.coalesced },
          text: `RefreshPkgSource ${packageId}: ReturnValue 0 (job #${r.id}${r.coalesced ? ', joined the refresh already queued' : ''})`,
        },
      );
    }),
  );
}

async function addDp(ctx: CliContext, o: AddOptions): Promise<void> {
  if ((o.path === undefined) === (o.url === undefined)) {
    throw new SitecastError('INVALID_PARAMETER', 'dp add needs exactly one of --path <dir> and --url <url>', {
      field: o.path === undefined ? 'url' : 'path',
    });
  }
  const priority = o.priority !== undefined ? { priority: o.priority } : {};
  if (!o.pull && (o.source !== undefined || o.siteUrl !== undefined)) {
    throw new SitecastError('INVALID_PARAMETER', '--source and --site-url go with --pull', {
      field: 'source',
    });
  }
  if (o.pull && o.path !== undefined) {
    throw new SitecastError('INVALID_PARAMETER', '--pull goes with --url: only a DP agent can pull', {
      field: 'pull',
    });
  }
  if (o.path !== undefined) {
    if (o.secret !== undefined || o.secretFile !== undefined) {
      throw new SitecastError('INVALID_PARAMETER', '--secret and --secret-file go with --url, not --path', {
        field: 'secret',
      });
    }
    const site = await ctx.site();
    const dp = await site.dps.addLocal({ name: o.name, root: o.path, ...priority });
    ctx.result(
      () => dpInfo(dp),
      () => `${dp.name} added: ${dp.nalPath}`,
    );
    return;
  }
  if (o.secret !== undefined && o.secretFile !== undefined) {
    throw new SitecastError('INVALID_PARAMETER', 'give --secret or --secret-file, not both', {
      field: 'secret',
    });
  }
  const given =
    o.secretFile !== undefined
      ? await readSecretFile(o.secretFile)
      : o.secret !== undefined
        ? checkDpSecret(o.secret, '--secret')
        : undefined;
  // Site first: a new secret the agent does not know yet, so a failed probe is expected and only reported.
  const secret = given ?? generateDpSecret();
  const site = await ctx.site();
  const { dp, probe } = await site.dps.addHttp({
    name: o.name,
    url: o.url!,
    secret,
    allowOffline: given === undefined,
    ...priority,
    ...(o.pull && {
      pull: {
        ...(o.source !== undefined && { sources: o.source }),
        ...(o.siteUrl !== undefined && { siteUrl: o.siteUrl }),
      },
    }),
  });
  const url = dp.config.kind === 'http' ? dp.config.url : o.url!;
  const port = new URL(url).port || (url.startsWith('https:') ? '443' : '80');
  const serveLine = `SITECAST_DP_SECRET='${secret}' sitecast dp serve --dir <folder> --port ${port} --host 0.0.0.0`;
  ctx.result(
    () => ({
      ...dpInfo(dp),
      AgentOnline: probe === null,
      ...(given === undefined && { Secret: secret, ServeCommand: serveLine }),
    }),
    () =>
      [
        `${dp.name} added: ${dp.nalPath} → ${url}${dp.isPull ? ` (pull DP; sources ${sourcesText(dp)})` : ''}`,
        ...(given === undefined
          ? [
              `New secret for ${dp.name} (shown once; the site keeps it): ${secret}`,
              'Start the agent on the DP host with it (it keeps the secret in <folder>/.sitecast/agent-secret):',
              `  ${serveLine}`,
            ]
          : [`The agent at ${url} answers and accepts the secret.`]),
        ...(probe ? [`Not reachable with this secret yet: ${probe.message}`] : []),
      ].join('\n'),
  );
}

/** Where the agent keeps its secret when none is given: inside the store's own internal folder. */
function agentSecretPath(dir: string): string {
  return join(dir, '.sitecast', 'agent-secret');
}

/** The agent's secret: --secret-file, else SITECAST_DP_SECRET (kept for restarts), else the agent's own file. */
async function agentSecret(
  ctx: CliContext,
  o: ServeOptions,
  dir: string,
  out: (line: string) => void,
): Promise<string> {
  if (o.secretFile !== undefined) return readSecretFile(o.secretFile);
  const own = agentSecretPath(dir);
  const fromEnv = ctx.io.env.SITECAST_DP_SECRET;
  if (fromEnv !== undefined && fromEnv !== '') {
    const secret = checkDpSecret(fromEnv, 'SITECAST_DP_SECRET');
    const kept = await ensureSecretFile(own, secret);
    if (kept.created) out(`secret from SITECAST_DP_SECRET kept in ${own} for later starts`);
    else if (kept.secret !== secret) out(`using SITECAST_DP_SECRET, not the different secret in ${own}`);
    return secret;
  }
  const { secret, created } = await ensureSecretFile(own);
  if (created) {
    out(`new DP secret written to ${own} (mode 0600): ${secret}`);
    out(`on the site server: sitecast dp add --name <NAME> --url <this agent's URL> --secret '${secret}'`);
  }
  return secret;
}

/** `dp serve`: the DP agent process, logging timestamped lines until SIGINT/SIGTERM stops it. */
async function serveDp(ctx: CliContext, o: ServeOptions): Promise<number> {
  const out = (line: string): void => {
    ctx.io.stdout.write(`${timestamp()} ${line}\n`);
  };
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
    throw new SitecastError('INVALID_PARAMETER', '--tls-cert and --tls-key go together', {
      field: o.tlsCert === undefined ? 'tls-cert' : 'tls-key',
    });
  }
  ctx.requireLocal();
  const dir = resolve(o.dir);
  const secret = await agentSecret(ctx, o, dir, out);
  const tls =
    o.tlsCert !== undefined && o.tlsKey !== undefined
      ? { cert: await readOptionFile(o.tlsCert, 'tls-cert'), key: await readOptionFile(o.tlsKey, 'tls-key') }
      : undefined;
  const contentToken = await readContentToken(ctx, o);
  const agent = await createDpAgent({
    dir,
    secret,
    logger: out,
    ...(tls && { tls }),
    ...(contentToken !== undefined && { contentToken }),
  });
  try {
    const health = await agent.store.health();
    if (!health.online) {
      throw new SitecastError('DP_UNAVAILABLE', `DP folder ${dir} cannot be used: ${health.error ?? ''}`, {
        field: 'dir',
        path: dir,
      });
    }
    const url = await agent.listen({ port: o.port, host: o.host });
    const reachable =
      o.host === '0.0.0.0' || o.host === '::'
        ? url.replace(/\/\/[^:/]+|\/\/\[[^\]]+\]/, `//${hostname()}`)
        : url;
    out(`sitecast DP agent listening on ${url} (pid ${process.pid}); DP folder ${dir}`);
    out(
      `key ${keyIdOf(secret)}; the site adds it with: sitecast dp add --name <NAME> --url ${reachable} --secret <secret>`,
    );
    if (o.host === '127.0.0.1' || o.host === 'localhost')
      out('only this host can connect: --host 0.0.0.0 accepts the site');
    out(
      contentToken === undefined
        ? 'client content under /content is open to anyone who can connect'
        : 'client content under /content needs "Authorization: Bearer <content token>"',
    );
    out('SIGINT or SIGTERM stops it');
    await untilAborted(ctx.io.shutdown);
    out('stopping');
    return 0;
  } finally {
    await agent.close();
    out('stopped');
  }
}

/** The /content bearer token: --content-token-file (trimmed), else $SITECAST_CONTENT_TOKEN, else none. */
async function readContentToken(ctx: CliContext, o: ServeOptions): Promise<string | undefined> {
  if (o.contentTokenFile === undefined) {
    const fromEnv = ctx.io.env.SITECAST_CONTENT_TOKEN;
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  }
  const token = (await readOptionFile(o.contentTokenFile, 'content-token-file')).toString('utf8').trim();
  if (token === '') {
    throw new SitecastError('INVALID_PARAMETER', `--content-token-file ${o.contentTokenFile} is empty`, {
      field: 'content-token-file',
      path: o.contentTokenFile,
    });
  }
  return token;
}

async function readOptionFile(path: string, field: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new SitecastError(
      'NOT_FOUND',
      `--${field} ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      { field, path },
    );
  }
}

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise<void>(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
