import type { Command } from 'commander';
import type { ChildLink, SiteTreeNode } from '../hierarchy/index.js';
import type { Act } from './command-kit.js';
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
