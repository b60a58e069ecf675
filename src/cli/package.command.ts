import type { Command } from 'commander';
import { PackageType, smsClassOf, toSmsPackage, type PackageWritable } from '../catalog/index.js';
import { SitecastError } from '../kernel/index.js';
import { addWaitOptions, finishQueued, intArg, type Act, type WaitFlags } from './command-kit.js';
import { renderTable } from './table.js';
import { formatBytes } from './units.js';

interface ListOptions {
  readonly type?: string;
}

interface SetOptions extends WaitFlags {
  readonly name?: string;
  readonly description?: string;
  readonly priority?: number;
  readonly source?: string;
  readonly sedo?: string;
  readonly refresh?: boolean;
  readonly refreshSchedule?: string;
}

const typeFilters: Readonly<Record<string, number>> = {
  image: PackageType.SMS_ImagePackage,
  package: PackageType.SMS_Package,
};

/** `package list|show|set|delete`: reading and writing SMS_Package / SMS_ImagePackage properties. */
export function registerPackageCommands(program: Command, act: Act): void {
  const pkgCmd = program
    .command('package')
    .description('packages and image packages (SMS_Package, SMS_ImagePackage)');

  pkgCmd
    .command('list')
    .description('list packages (lazy properties left out, as the SMS Provider does)')
    .option('--type <image|package>', 'only image packages or only standard packages')
    .action(
      act(async (ctx, o: ListOptions) => {
        let packageType: number | undefined;
        if (o.type !== undefined) {
          packageType = typeFilters[o.type];
          if (packageType === undefined) {
            throw new SitecastError(
              'INVALID_PARAMETER',
              `--type ${JSON.stringify(o.type)} must be image or package`,
              { field: 'type' },
            );
          }
        }
        const site = await ctx.site();
        const list = await site.packages.list(packageType === undefined ? {} : { packageType });
        ctx.result(
          () => list.map((p) => toSmsPackage(p)),
          () =>
            list.length === 0
              ? 'No packages.'
              : renderTable(
                  [
                    { header: 'PackageID' },
                    { header: 'Class' },
                    { header: 'Name' },
                    { header: 'SourceVersion', align: 'right' },
                    { header: 'Size', align: 'right' },
                    { header: 'Priority', align: 'right' },
                    { header: 'PkgSourcePath' },
                  ],
                  list.map((p) => [
                    p.packageId,
                    smsClassOf(p),
                    p.name,
                    String(p.sourceVersion),
                    formatBytes(p.packageSizeKb * 1024),
                    String(p.priority),
                    p.pkgSourcePath ?? '',
                  ]),
                ),
        );
      }),
    );

  pkgCmd
    .command('show')
    .description('every property of one package, lazy ones included')
    .argument('<PackageID>')
    .action(
      act(async (ctx, packageId: string) => {
        const site = await ctx.site();
        const pkg = await site.packages.get(packageId);
        const props = toSmsPackage(pkg, { lazy: true });
        ctx.result(
          () => props,
          () => {
            const width = Math.max(...Object.keys(props).map((k) => k.length));
            const lines = Object.entries(props).map(([k, v]) => `${k.padEnd(width)}  ${showValue(v)}`);
            return `${smsClassOf(pkg)}\n${lines.join('\n')}`;
          },
        );
      }),
    );

  addSetCommand(pkgCmd, act);
  // Set-CMOperatingSystemImage: the same command under `image`.
  const image = program.commands.find((c) => c.name() === 'image');
  if (image) addSetCommand(image, act);

  addWaitOptions(
    pkgCmd
      .command('delete')
      .description('delete a package: its content leaves every DP first, then the package goes')
      .argument('<PackageID>'),
  ).action(
    act(async (ctx, packageId: string, o: WaitFlags) => {
      const site = await ctx.site();
      const since = Date.now();
      const targeted = (await site.status.distPointStatus(packageId)).length;
      await site.distribution.deletePackage(packageId);
      return finishQueued(
        ctx,
        o,
        { packageId, since },
        {
          json: { RemovalsQueued: targeted },
          text:
            targeted === 0
              ? `${packageId} deleted`
              : `${packageId}: removal from ${targeted} DP(s) queued; the package is deleted when the last one ends`,
        },
      );
    }),
  );
}

function showValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** `set`: writes SMS_Package properties (under both `package` and `image`). */
function addSetCommand(parent: Command, act: Act): void {
  addWaitOptions(
    parent
      .command('set')
      .description(
        'change properties (Set-CMOperatingSystemImage); --refresh writes RefreshPkgSourceFlag=true',
      )
      .argument('<PackageID>')
      .option('--name <name>', 'Name')
      .option('--description <text>', 'Description')
      .option('--priority <1|2|3>', 'Priority: 1 high, 2 normal, 3 low', intArg('--priority', 1, 3))
      .option('--source <path>', 'PkgSourcePath (absolute)')
      .option('--sedo <SedoObjectVersion>', 'fail unless the package is still at this SedoObjectVersion')
      .option(
        '--refresh',
        'RefreshPkgSourceFlag=true: snapshot the source and update every DP (RefreshPkgSource)',
      )
      .option(
        '--refresh-schedule <string>',
        'RefreshSchedule as a schedule string (see `sitecast schedule new`; several tokens concatenated), "none" to clear; a scheduled run makes a version only if the source changed',
      ),
  ).action(
    act(async (ctx, packageId: string, o: SetOptions) => {
      const props: PackageWritable = {
        ...(o.name !== undefined && { Name: o.name }),
        ...(o.description !== undefined && { Description: o.description }),
        ...(o.priority !== undefined && { Priority: o.priority as 1 | 2 | 3 }),
        ...(o.source !== undefined && { PkgSourcePath: o.source }),
        ...(o.refresh && { RefreshPkgSourceFlag: true }),
        ...(o.refreshSchedule !== undefined && {
          RefreshSchedule: /^none$/i.test(o.refreshSchedule.trim()) ? null : o.refreshSchedule,
        }),
      };
      if (Object.keys(props).length === 0) {
        throw new SitecastError(
          'INVALID_PARAMETER',
          'nothing to set: give --name, --description, --priority, --source, --refresh-schedule or --refresh',
          {
            field: 'properties',
          },
        );
      }
      const site = await ctx.site();
      const since = Date.now();
      const { package: pkg, refreshRequested } = await site.packages.update(packageId, props, o.sedo);
      if (!refreshRequested) {
        ctx.result(
          () => toSmsPackage(pkg, { lazy: true }),
          () => `${pkg.packageId} updated (SedoObjectVersion ${pkg.sedoObjectVersion})`,
        );
        return 0;
      }
      const r = await site.distribution.refreshPkgSource(packageId);
      return finishQueued(
        ctx,
        o,
        { packageId, since },
        {
          json: { JobID: r.id, SMS_Package: toSmsPackage(pkg, { lazy: true }) },
          text: `${pkg.packageId} updated; RefreshPkgSource: ReturnValue 0 (job #${r.id}${r.coalesced ? ', joined the refresh already queued' : ''})`,
        },
      );
    }),
  );
}
