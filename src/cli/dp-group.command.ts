import type { Command } from 'commander';
import type { DpGroup, DpGroupDetail } from '../distribution/index.js';
import type { CliContext } from './cli-context.js';
import { addWaitOptions, collect, finishQueued, type Act, type WaitFlags } from './command-kit.js';
import { renderTable } from './table.js';
import { timestamp } from './units.js';

/** SMS_DistributionPointGroup as scripts read it. */
function groupInfo(g: DpGroup): Record<string, unknown> {
  return {
    GroupID: g.groupId,
    Name: g.name,
    Description: g.description,
    MemberCount: g.memberCount,
    HasMember: g.memberCount > 0,
    ContentCount: g.contentCount,
    CreatedOn: new Date(g.createdAt).toISOString(),
    ModifiedOn: new Date(g.modifiedAt).toISOString(),
  };
}

function detailInfo(g: DpGroupDetail): Record<string, unknown> {
  return {
    ...groupInfo(g),
    OutOfSyncContentCount: g.outOfSync,
    Members: g.members.map((m) => ({ Name: m.name, NALPath: m.nalPath, SiteCode: m.siteCode })),
    PackageIDs: g.packageIds,
  };
}

function describeDetail(g: DpGroupDetail): string {
  const lines = [
    `${g.name}  ${g.groupId}`,
    g.description ? `  ${g.description}` : '',
    `  ${g.memberCount} member(s), ${g.contentCount} package(s), ${g.outOfSync} member × package pair(s) not installed`,
    '',
  ].filter((l, i) => i !== 1 || l !== '');
  if (g.members.length > 0) {
    lines.push(
      renderTable(
        [{ header: 'Member' }, { header: 'Site' }, { header: 'Kind' }],
        g.members.map((m) => [m.name, m.siteCode, m.kind]),
      ),
    );
  }
  if (g.packageIds.length > 0) lines.push(`Packages: ${g.packageIds.join(', ')}`);
  return lines.join('\n');
}

interface DpsOptions {
  readonly dp: readonly string[];
}

/** `dp-group …`: SMS_DistributionPointGroup and its methods (reference §3). */
export function registerDpGroupCommands(program: Command, act: Act): void {
  const cmd = program
    .command('dp-group')
    .description('distribution point groups (SMS_DistributionPointGroup)');

  cmd
    .command('new')
    .description('New-CMDistributionPointGroup')
    .requiredOption('--name <name>', 'group name (unique, case-insensitive)')
    .option('--description <text>', 'description', '')
    .action(
      act(async (ctx, o: { name: string; description: string }) => {
        const g = await (await ctx.site()).dpGroups.create({ name: o.name, description: o.description });
        ctx.result(
          () => groupInfo(g),
          () => `${g.name} created: ${g.groupId}`,
        );
      }),
    );

  cmd
    .command('list')
    .description('the groups with their member and package counts')
    .action(
      act(async (ctx) => {
        const groups = await (await ctx.site()).dpGroups.list();
        ctx.result(
          () => ({ value: groups.map(groupInfo) }),
          () =>
            groups.length === 0
              ? 'no distribution point groups (add one with `sitecast dp-group new --name …`)'
              : renderTable(
                  [
                    { header: 'Name' },
                    { header: 'Members', align: 'right' },
                    { header: 'Packages', align: 'right' },
                    { header: 'Modified' },
                    { header: 'GroupID' },
                  ],
                  groups.map((g) => [
                    g.name,
                    String(g.memberCount),
                    String(g.contentCount),
                    timestamp(g.modifiedAt),
                    g.groupId,
                  ]),
                ),
        );
      }),
    );

  cmd
    .command('show')
    .description('members, packages and how many member × package pairs are not installed')
    .argument('<group>', 'group name or GroupID')
    .action(
      act(async (ctx, ref: string) => {
        const g = await (await ctx.site()).dpGroups.detail(ref);
        ctx.result(
          () => detailInfo(g),
          () => describeDetail(g),
        );
      }),
    );

  cmd
    .command('set')
    .description('rename a group or change its description')
    .argument('<group>', 'group name or GroupID')
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .action(
      act(async (ctx, ref: string, o: { name?: string; description?: string }) => {
        const g = await (await ctx.site()).dpGroups.update(ref, o);
        ctx.result(
          () => groupInfo(g),
          () => `${g.name} updated`,
        );
      }),
    );

  cmd
    .command('delete')
    .description('delete a group (the content stays on its DPs)')
    .argument('<group>', 'group name or GroupID')
    .action(
      act(async (ctx, ref: string) => {
        await (await ctx.site()).dpGroups.delete(ref);
        ctx.result(
          () => ({ ReturnValue: 0 }),
          () => `${ref} deleted`,
        );
      }),
    );

  addWaitOptions(
    cmd
      .command('add-dp')
      .description("AddDistributionPoints: the DPs join and receive the group's packages")
      .argument('<group>', 'group name or GroupID')
      .requiredOption('--dp <name>', 'distribution point name or NALPath (repeatable)', collect, []),
  ).action(
    act(async (ctx, ref: string, o: DpsOptions & WaitFlags) => {
      const site = await ctx.site();
      const since = Date.now();
      const { added } = await site.dpGroups.addDistributionPoints(ref, o.dp);
      const { packageIds } = await site.dpGroups.detail(ref);
      return finishMany(ctx, o, added > 0 ? packageIds : [], since, {
        json: { Added: added },
        text: `${ref}: ${added} distribution point(s) added; the group's ${packageIds.length} package(s) queued for them`,
      });
    }),
  );

  cmd
    .command('remove-dp')
    .description('RemoveDistributionPoints: the DPs leave the group (their content stays)')
    .argument('<group>', 'group name or GroupID')
    .requiredOption('--dp <name>', 'distribution point name or NALPath (repeatable)', collect, [])
    .action(
      act(async (ctx, ref: string, o: DpsOptions) => {
        await (await ctx.site()).dpGroups.removeDistributionPoints(ref, o.dp);
        ctx.result(
          () => ({ ReturnValue: 0 }),
          () => `${ref}: ${o.dp.join(', ')} removed from the group`,
        );
      }),
    );

  addWaitOptions(
    cmd
      .command('add-package')
      .description('AddPackages: the packages go to every member of the group')
      .argument('<group>', 'group name or GroupID')
      .argument('<PackageID...>'),
  ).action(
    act(async (ctx, ref: string, packageIds: string[], o: WaitFlags) => {
      const site = await ctx.site();
      const since = Date.now();
      const { added } = await site.dpGroups.addPackages(ref, packageIds);
      return finishMany(ctx, o, packageIds, since, {
        json: { Added: added },
        text: `${ref}: ${packageIds.join(', ')} assigned; distribution to the members queued`,
      });
    }),
  );

  cmd
    .command('remove-package')
    .description("RemovePackages: unassign, and remove the content from the group's DPs")
    .argument('<group>', 'group name or GroupID')
    .argument('<PackageID...>')
    .action(
      act(async (ctx, ref: string, packageIds: string[]) => {
        await (await ctx.site()).dpGroups.removePackages(ref, packageIds);
        ctx.result(
          () => ({ ReturnValue: 0 }),
          () => `${ref}: ${packageIds.join(', ')} removed; content removal queued on the members`,
        );
      }),
    );

  addWaitOptions(
    cmd
      .command('redistribute')
      .description('ReDistributePackage: everything again to every member, overwriting')
      .argument('<group>', 'group name or GroupID')
      .argument('<PackageID>'),
  ).action(
    act(async (ctx, ref: string, packageId: string, o: WaitFlags) => {
      const since = Date.now();
      const { dps } = await (await ctx.site()).dpGroups.reDistributePackage(ref, packageId);
      return finishMany(ctx, o, [packageId], since, {
        json: { DistributionPoints: dps },
        text: `${packageId}: redistribution to the ${dps} member(s) of ${ref} queued`,
      });
    }),
  );

  addWaitOptions(
    cmd
      .command('refresh')
      .description('RefreshDPGroup: target every package of the group to members that lack it')
      .argument('<group>', 'group name or GroupID'),
  ).action(
    act(async (ctx, ref: string, o: WaitFlags) => {
      const site = await ctx.site();
      const since = Date.now();
      const { targeted } = await site.dpGroups.refreshDPGroup(ref);
      const { packageIds } = await site.dpGroups.detail(ref);
      return finishMany(ctx, o, packageIds, since, {
        json: { Targeted: targeted },
        text: `${ref}: ${targeted} member × package pair(s) targeted`,
      });
    }),
  );
}

/** finishQueued for several packages: waits for each in turn; the exit code is the first non-zero. */
async function finishMany(
  ctx: CliContext,
  flags: WaitFlags,
  packageIds: readonly string[],
  since: number,
  queued: { readonly json: Record<string, unknown>; readonly text: string },
): Promise<number> {
  if (!flags.wait || packageIds.length === 0) {
    ctx.result(
      () => ({ ReturnValue: 0, PackageIDs: packageIds, ...queued.json }),
      () => queued.text,
    );
    return 0;
  }
  let code = 0;
  for (const packageId of packageIds) {
    const c = await finishQueued(ctx, flags, { packageId, since }, { json: queued.json, text: queued.text });
    code ||= c;
  }
  return code;
}
