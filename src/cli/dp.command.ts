import type { Command } from 'commander';
import { PackageDpRepository, type DistributionPoint } from '../distribution/index.js';
import { addWaitOptions, finishQueued, intArg, type Act, type WaitFlags } from './command-kit.js';
import { renderTable } from './table.js';

interface AddOptions {
  readonly name: string;
  readonly path: string;
  readonly priority?: number;
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
    ...(packages && { PackageCount: packages.length, Packages: packages }),
  };
}

/** `dp add|list|remove` (the site's DPs) and `dp update` (Update-CMDistributionPoint = RefreshPkgSource). */
export function registerDpCommands(program: Command, act: Act): void {
  const dpCmd = program.command('dp').description('distribution points');

  dpCmd
    .command('add')
    .description('add a local-folder distribution point')
    .requiredOption('--name <name>', 'server-style name, e.g. DP01')
    .requiredOption('--path <dir>', 'absolute folder that will hold the DP content')
    .option(
      '--priority <n>',
      'DP priority (lower is served first; default 200)',
      intArg('--priority', 1, 10_000),
    )
    .action(
      act(async (ctx, o: AddOptions) => {
        const site = await ctx.site();
        const dp = await site.dps.addLocal({
          name: o.name,
          root: o.path,
          ...(o.priority !== undefined && { priority: o.priority }),
        });
        ctx.result(
          () => dpInfo(dp),
          () => `${dp.name} added: ${dp.nalPath}`,
        );
      }),
    );

  dpCmd
    .command('list')
    .description('the site distribution points and how many packages each holds')
    .action(
      act(async (ctx) => {
        const site = await ctx.site();
        const targets = new PackageDpRepository(site.database.db);
        const dps = await site.dps.list();
        const held = await Promise.all(
          dps.map(async (dp) => (await targets.listForDp(dp.dpId)).map((t) => t.packageId)),
        );
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
                    { header: 'Root' },
                    { header: 'Packages', align: 'right' },
                  ],
                  dps.map((dp, i) => [
                    dp.name,
                    dp.kind,
                    dp.nalPath,
                    dp.config.kind === 'local' ? dp.config.root : dp.config.url,
                    String(held[i]!.length),
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
