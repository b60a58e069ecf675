import type { Command } from 'commander';
import type { ChildLink, SiteTreeNode } from '../hierarchy/index.js';
import { alwaysOpen, formatAvailability, formatRateLimit } from '../bandwidth/index.js';
import { collect, type Act } from './command-kit.js';
import { applyWindow } from './dp-settings.command.js';
import { renderTable } from './table.js';
import { formatBytes, formatTime } from './units.js';

/** SMS_Site of a child, as scripts read it (never the link secret). */
function childJson(c: ChildLink): Record<string, unknown> {
  return {
    SiteCode: c.siteCode,
    Type: c.role,
    ServerURL: c.url,
    Version: c.version,
    State: c.state,
    LastContact: c.lastContact === null ? null : new Date(c.lastContact).toISOString(),
    LastError: c.lastError,
    BytesSent: c.bytesSent,
  };
}

function renderTree(node: SiteTreeNode, prefix = '', last = true, root = true): string[] {
  const line = `${root ? '' : `${prefix}${last ? '└─ ' : '├─ '}`}${node.siteCode} (${node.role}, ${node.state})`;
  const next = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
  return [
    line,
    ...node.children.flatMap((c, i) => renderTree(c, next, i === node.children.length - 1, false)),
  ];
}

/** `site list` / `site tree`: this site's children (Get-CMSite) and the hierarchy below it. */
export function registerSiteCommands(program: Command, act: Act): void {
  const cmd = program
    .command('site')
    .description('the site hierarchy: child sites and their state (SMS_Site)');

  cmd
    .command('list')
    .description('child sites of this site: code, role, version, last contact, state')
    .action(
      act(async (ctx) => {
        const site = await ctx.site();
        const children = await site.hierarchy.listChildren();
        const parent = await site.hierarchy.parent();
        ctx.result(
          () => ({
            SiteCode: site.siteCode,
            Parent: parent ? { SiteCode: parent.siteCode, ServerURL: parent.url, State: parent.state } : null,
            Children: children.map(childJson),
          }),
          () =>
            (parent ? `Parent: ${parent.siteCode} at ${parent.url} (${parent.state})\n` : '') +
            (children.length === 0
              ? `Site ${site.siteCode} has no child sites.`
              : renderTable(
                  [
                    { header: 'SiteCode' },
                    { header: 'Role' },
                    { header: 'Version' },
                    { header: 'Last contact (UTC)' },
                    { header: 'State' },
                    { header: 'Sent', align: 'right' },
                    { header: 'URL' },
                  ],
                  children.map((c) => [
                    c.siteCode,
                    c.role,
                    c.version,
                    formatTime(c.lastContact),
                    c.state,
                    formatBytes(c.bytesSent),
                    c.url,
                  ]),
                )),
        );
      }),
    );

  cmd
    .command('set')
    .description('rate limit and availability window of the link to a child site (its sender)')
    .argument('<SiteCode>', 'a child site of this site')
    .option('--rate-limit <limit>', 'unlimited | <n>MB/s | pulse:<block>/<ms>ms | hourly:<24 percentages>')
    .option(
      '--window <spec>',
      'e.g. "Mon-Fri 08-18 closed"; repeatable, applied on top of an open week',
      collect,
      [],
    )
    .option('--time-zone <zone>', 'IANA zone the window is read in ("server" = the site server\'s)')
    .action(
      act(
        async (
          ctx,
          code: string,
          o: { rateLimit?: string; window: readonly string[]; timeZone?: string },
        ) => {
          const site = await ctx.site();
          const link = await site.hierarchy.setLinkBandwidth(code, {
            ...(o.rateLimit !== undefined && { rateLimit: o.rateLimit }),
            ...(o.window.length > 0 && { availability: o.window.reduce(applyWindow, alwaysOpen) }),
            ...(o.timeZone !== undefined && { timeZone: o.timeZone === 'server' ? null : o.timeZone }),
          });
          ctx.result(
            () => ({
              ...childJson(link),
              RateLimit: formatRateLimit(link.bandwidth.rateLimit),
              Availability: formatAvailability(link.bandwidth.availability),
              TimeZone: link.bandwidth.timeZone,
            }),
            () =>
              `link to ${link.siteCode}: rate limit ${formatRateLimit(link.bandwidth.rateLimit)}, availability ${formatAvailability(link.bandwidth.availability)} (${link.bandwidth.timeZone ?? 'site server time zone'})`,
          );
        },
      ),
    );

  cmd
    .command('tree')
    .description('this site and every site below it, as links and status reports know them')
    .action(
      act(async (ctx) => {
        const tree = await (await ctx.site()).hierarchy.tree();
        ctx.result(
          () => tree,
          () => renderTree(tree).join('\n'),
        );
      }),
    );
}
