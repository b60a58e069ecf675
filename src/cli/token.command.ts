import type { Command } from 'commander';
import { parseRole, type AuditEntry, type TokenInfo } from '../auth/index.js';
import { SitecastError, toHex } from '../kernel/index.js';
import { intArg, type Act } from './command-kit.js';
import { renderTable } from './table.js';
import { formatTime } from './units.js';

const unitMs: Readonly<Record<string, number>> = {
  w: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
};

/**
 * `30d`, `12h`, `1w`, `1d12h` counted from `now` (forward for --expires, back for --since), or an ISO 8601
 * date / date-time (`2027-01-31`, `2027-01-31T18:00Z`). INVALID_PARAMETER naming the option otherwise.
 */
export function parseWhen(value: string, option: string, now: number, direction: 1 | -1): number {
  const text = value.trim();
  if (/^(\d+[wdhm])+$/i.test(text)) {
    let ms = 0;
    for (const [, n, unit] of text.matchAll(/(\d+)([wdhm])/gi))
      ms += Number(n) * unitMs[unit!.toLowerCase()]!;
    if (ms > 0 && Number.isSafeInteger(ms)) return now + direction * ms;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text)) {
    const time = Date.parse(text.replace(' ', 'T'));
    if (!Number.isNaN(time) && isCalendarDate(text)) return time;
  }
  throw new SitecastError(
    'INVALID_PARAMETER',
    `${option} ${JSON.stringify(value)} must be a span such as 30d, 12h, 1w or 1d12h, or a date such as 2027-01-31 or 2027-01-31T18:00Z`,
    { field: option },
  );
}

/** False for 2027-02-31, which Date.parse would quietly turn into 3 March. */
function isCalendarDate(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** SMS_AdminToken as scripts read it (never the secret or its hash). */
function tokenJson(t: TokenInfo): Record<string, unknown> {
  return {
    Id: t.id,
    Name: t.name,
    Role: t.role,
    Prefix: t.prefix,
    CreatedAt: iso(t.createdAt),
    LastUsedAt: iso(t.lastUsedAt),
    ExpiresAt: iso(t.expiresAt),
    RevokedAt: iso(t.revokedAt),
  };
}

function auditJson(e: AuditEntry): Record<string, unknown> {
  return {
    Id: e.id,
    Time: iso(e.time),
    Principal: e.principalName,
    TokenId: e.tokenId,
    Action: e.action,
    ClassName: e.className,
    Target: e.target,
    Method: e.method,
    ReturnValue: e.result,
    Detail: e.detail,
    RemoteAddress: e.remoteAddress,
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** `token create|list|revoke` (API bearer tokens) and `audit` (what was changed through the API). */
export function registerTokenCommands(program: Command, act: Act): void {
  const cmd = program.command('token').description('API bearer tokens and their roles (SMS_AdminToken)');

  cmd
    .command('create')
    .description('create a token; its secret is printed once and cannot be shown again')
    .requiredOption('--name <name>', 'who or what uses the token (unique, case-insensitive)')
    .requiredOption(
      '--role <role>',
      '"Full Administrator" | "Operations Administrator" | "Read-only Analyst" (or full, operations, readonly)',
    )
    .option('--expires <when>', 'expiry: a span such as 30d, 12h, 1w, or a date (default: never)')
    .action(
      act(async (ctx, o: { name: string; role: string; expires?: string }) => {
        const role = parseRole(o.role, '--role');
        const expiresAt = o.expires === undefined ? null : parseWhen(o.expires, '--expires', Date.now(), 1);
        const { token, info } = await (await ctx.site()).tokens.create({ name: o.name, role, expiresAt });
        if (ctx.json) {
          ctx.printJson({ Token: token, ...tokenJson(info) });
          return;
        }
        // The token alone on stdout, so `TOKEN=$(sitecast token create …)` captures just it.
        ctx.warn(
          `token ${info.id} "${info.name}" created with role ${info.role}, ${
            info.expiresAt === null ? 'never expires' : `expires ${formatTime(info.expiresAt)} UTC`
          }`,
        );
        ctx.print(token);
        ctx.warn('Copy the token now: it will not be shown again (the site keeps only its hash).');
      }),
    );

  cmd
    .command('list')
    .description('the tokens: name, role, prefix, when created, last used, expires, revoked')
    .action(
      act(async (ctx) => {
        const tokens = await (await ctx.site()).tokens.list();
        const now = Date.now();
        ctx.result(
          () => ({ value: tokens.map(tokenJson) }),
          () =>
            tokens.length === 0
              ? 'no API tokens (create one with `sitecast token create --name … --role …`)'
              : renderTable(
                  [
                    { header: 'Id', align: 'right' },
                    { header: 'Name' },
                    { header: 'Role' },
                    { header: 'Prefix' },
                    { header: 'Created' },
                    { header: 'Last used' },
                    { header: 'Expires' },
                    { header: 'Revoked' },
                  ],
                  tokens.map((t) => [
                    String(t.id),
                    t.name,
                    t.role,
                    `${t.prefix}…`,
                    formatTime(t.createdAt),
                    t.lastUsedAt === null ? 'never' : formatTime(t.lastUsedAt),
                    t.expiresAt === null
                      ? 'never'
                      : `${formatTime(t.expiresAt)}${t.expiresAt <= now ? ' (expired)' : ''}`,
                    formatTime(t.revokedAt),
                  ]),
                ),
        );
      }),
    );

  cmd
    .command('revoke')
    .description('revoke a token: requests made with it are refused from now on')
    .argument('<token>', 'token id or name')
    .action(
      act(async (ctx, ref: string) => {
        const tokens = (await ctx.site()).tokens;
        await tokens.revoke(ref);
        const t = await tokens.get(ref);
        ctx.result(
          () => ({ ReturnValue: 0, ...tokenJson(t) }),
          () => `token ${t.id} "${t.name}" revoked`,
        );
      }),
    );

  program
    .command('audit')
    .description('the audit log: who created, changed, deleted or called what through the API, newest first')
    .option('--since <when>', 'entries since: a span back from now (1h, 7d) or a date')
    .option('--limit <n>', 'at most this many entries', intArg('--limit', 1, 10_000), 100)
    .option('--principal <name>', 'only what this token name did')
    .action(
      act(async (ctx, o: { since?: string; limit: number; principal?: string }) => {
        const since = o.since === undefined ? undefined : parseWhen(o.since, '--since', Date.now(), -1);
        const entries = await (
          await ctx.site()
        ).audit.list({
          limit: o.limit,
          ...(since !== undefined && { since }),
          ...(o.principal !== undefined && { principal: o.principal }),
        });
        ctx.result(
          () => ({ value: entries.map(auditJson) }),
          () =>
            entries.length === 0
              ? `no audit entries${since === undefined ? '' : ` since ${formatTime(since)} UTC`}`
              : renderTable(
                  [
                    { header: 'Time' },
                    { header: 'Principal' },
                    { header: 'Action' },
                    { header: 'Class' },
                    { header: 'Target' },
                    { header: 'Method' },
                    { header: 'Result' },
                    { header: 'From' },
                    { header: 'Detail' },
                  ],
                  entries.map((e) => [
                    formatTime(e.time),
                    e.principalName ?? '(none)',
                    e.action,
                    e.className,
                    e.target ?? '-',
                    e.method ?? '-',
                    e.result === 0 ? '0' : toHex(e.result),
                    e.remoteAddress ?? '-',
                    oneLine(e.detail),
                  ]),
                ),
        );
      }),
    );
}

/** Details on one table line: newlines folded, long ones cut (`--json` has them whole). */
function oneLine(text: string | null): string {
  if (text === null || text === '') return '-';
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}
