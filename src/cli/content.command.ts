import type { Command } from 'commander';
import { MessageId } from '../distribution/index.js';
import { SitecastError } from '../kernel/index.js';
import type { CliContext } from './cli-context.js';
import { addWaitOptions, collect, finishQueued, type Act, type WaitFlags } from './command-kit.js';
import { reportWait, waitForPackage } from './package-wait.js';

interface DpOptions extends WaitFlags {
  readonly dp: readonly string[];
}

interface OneDpOptions extends WaitFlags {
  readonly dp: string;
}

/** The DPs given, resolved by name or NALPath (NOT_FOUND names the one missing). */
async function resolveDps(ctx: CliContext, refs: readonly string[]): Promise<string[]> {
  if (refs.length === 0)
    throw new SitecastError('INVALID_PARAMETER', 'give at least one --dp', { field: 'NALPath' });
  const site = await ctx.site();
  return Promise.all(refs.map(async (r) => (await site.dps.get(r)).name));
}

/** `content …`: the per-DP actions of reference §2 (distribute, redistribute, refresh, validate, cancel, remove). */
export function registerContentCommands(program: Command, act: Act): void {
  const content = program.command('content').description('package content on distribution points');

  addWaitOptions(
    content
      .command('distribute')
      .description(
        'Start-CMContentDistribution: target DPs or DP groups and send the current version (the first snapshot if none)',
      )
      .argument('<PackageID>')
      .option('--dp <name>', 'distribution point name or NALPath (repeatable)', collect, [])
      .option('--dp-group <name>', 'distribution point group name or GroupID (repeatable)', collect, []),
  ).action(
    act(async (ctx, packageId: string, o: DpOptions & { readonly dpGroup: readonly string[] }) => {
      const site = await ctx.site();
      const since = Date.now();
      if (o.dp.length === 0 && o.dpGroup.length === 0) {
        throw new SitecastError('INVALID_PARAMETER', 'give at least one --dp or --dp-group', {
          field: 'NALPath',
        });
      }
      const names = o.dp.length > 0 ? await resolveDps(ctx, o.dp) : [];
      if (names.length > 0) await site.distribution.addDistributionPoints(packageId, names);
      const groups: string[] = [];
      for (const ref of o.dpGroup) {
        await site.dpGroups.addPackages(ref, [packageId]);
        groups.push((await site.dpGroups.get(ref)).name);
      }
      const to = [...names, ...groups.map((g) => `group ${g}`)].join(', ');
      return finishQueued(
        ctx,
        o,
        // With groups, follow every DP the package is targeted to.
        { packageId, ...(groups.length === 0 && { dps: names }), since },
        {
          json: { DistributionPoints: names, DistributionPointGroups: groups },
          text: `${packageId}: distribution to ${to} queued`,
        },
      );
    }),
  );

  const perDp = (
    name: string,
    description: string,
    run: (ctx: CliContext, packageId: string, dp: string) => Promise<string>,
  ): void => {
    addWaitOptions(
      content
        .command(name)
        .description(description)
        .argument('<PackageID>')
        .requiredOption('--dp <name>', 'distribution point name or NALPath'),
    ).action(
      act(async (ctx, packageId: string, o: OneDpOptions) => {
        const since = Date.now();
        const [dp] = await resolveDps(ctx, [o.dp]);
        const text = await run(ctx, packageId, dp!);
        return finishQueued(
          ctx,
          o,
          { packageId, dps: [dp!], since },
          { json: { DistributionPoint: dp }, text },
        );
      }),
    );
  };

  perDp(
    'redistribute',
    'send everything again to one DP, overwriting what it has',
    async (ctx, packageId, dp) => {
      await (await ctx.site()).distribution.redistribute(packageId, dp);
      return `${packageId}: redistribution to ${dp} queued`;
    },
  );
  perDp(
    'refresh',
    'RefreshNow: the current version again to one DP, missing parts only',
    async (ctx, packageId, dp) => {
      await (await ctx.site()).distribution.refreshNow(packageId, dp);
      return `${packageId}: refresh of ${dp} queued`;
    },
  );
  perDp(
    'remove',
    'Remove-CMContentDistribution: remove the package content from one DP',
    async (ctx, packageId, dp) => {
      await (await ctx.site()).distribution.removeContent(packageId, dp);
      return `${packageId}: removal from ${dp} queued`;
    },
  );

  content
    .command('cancel')
    .description('CancelDistribution: stop the transfer to one DP; its state becomes INSTALL_FAILED')
    .argument('<PackageID>')
    .requiredOption('--dp <name>', 'distribution point name or NALPath')
    .action(
      act(async (ctx, packageId: string, o: { readonly dp: string }) => {
        const [dp] = await resolveDps(ctx, [o.dp]);
        await (await ctx.site()).distribution.cancelDistribution(packageId, dp!);
        ctx.result(
          () => ({ ReturnValue: 0, PackageID: packageId, DistributionPoint: dp }),
          () => `${packageId}: distribution to ${dp} cancelled`,
        );
      }),
    );

  addWaitOptions(
    content
      .command('validate')
      .description('Invoke-CMContentValidation: re-hash the package on one DP and report')
      .argument('<PackageID>')
      .requiredOption('--dp <name>', 'distribution point name or NALPath'),
  ).action(
    act(async (ctx, packageId: string, o: OneDpOptions) => {
      const site = await ctx.site();
      const since = Date.now();
      const [dp] = await resolveDps(ctx, [o.dp]);
      const { jobId } = await site.distribution.verifyPackage(packageId, dp!);
      const text = `${packageId}: validation on ${dp} queued (job #${jobId})`;
      if (!o.wait) {
        ctx.result(
          () => ({ ReturnValue: 0, PackageID: packageId, DistributionPoint: dp, JobID: jobId }),
          () => `${text}; \`sitecast status ${packageId}\` shows the result`,
        );
        return 0;
      }
      ctx.print(text);
      const outcome = await waitForPackage(ctx, { packageId, dps: [dp!], since, work: o.work });
      const result = (await site.status.messages(packageId, 50)).find(
        (m) =>
          m.ServerName === dp &&
          Date.parse(m.Time) >= since - 1000 &&
          (m.MessageID === MessageId.VALIDATION_SUCCEEDED || m.MessageID === MessageId.VALIDATION_FAILED),
      );
      if (result && !ctx.json)
        ctx.print(
          `\n${result.MessageID === MessageId.VALIDATION_SUCCEEDED ? 'OK' : 'FAILED'}: ${result.Text}`,
        );
      const code = await reportWait(ctx, outcome, {
        DistributionPoint: dp,
        JobID: jobId,
        ...(result && { SMS_DistributionDPStatus: result }),
      });
      // A failed validation marks the DP INSTALL_FAILED, which reportWait already turned into a non-zero code.
      return code;
    }),
  );
}
