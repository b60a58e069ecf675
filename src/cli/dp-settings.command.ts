import { InvalidArgumentError, type Command } from 'commander';
import {
  Availability,
  DAY_NAMES,
  alwaysOpen,
  formatAvailability,
  formatRateLimit,
  parseAvailability,
  withHours,
  type AvailabilityLevel,
  type AvailabilityMatrix,
} from '../bandwidth/index.js';
import { defaultBandwidth, type DistributionPoint } from '../distribution/index.js';
import { SitecastError } from '../kernel/index.js';
import { collect, type Act } from './command-kit.js';

const levelNames: Record<string, AvailabilityLevel> = {
  all: Availability.All,
  open: Availability.All,
  'medium-and-high': Availability.MediumAndHigh,
  'high-only': Availability.HighOnly,
  closed: Availability.Closed,
};

/** One glyph per hour in `dp show`-style grids: open, medium and high, high only, closed. */
const glyphs = ['.', 'm', 'h', 'x'] as const;

interface SetOptions {
  readonly rateLimit?: string;
  readonly availability?: string;
  readonly window: readonly string[];
  readonly timeZone?: string;
  readonly maintenance?: boolean;
  readonly validationSchedule?: string;
  readonly validationRepair?: boolean;
}

/**
 * `dp set <dp>`: rate limit, availability window, its time zone, maintenance mode (SetDPMaintenanceMode).
 * Added to the `dp` command that dp.command.ts registers.
 */
export function registerDpSettingsCommands(program: Command, act: Act): void {
  const dp = program.commands.find((c) => c.name() === 'dp');
  if (!dp) throw new Error('registerDpSettingsCommands needs the dp command registered first');
  dp.command('set')
    .description('rate limit, availability window and maintenance mode of a distribution point')
    .argument('<dp>', 'distribution point name or NALPath')
    .option(
      '--rate-limit <limit>',
      'unlimited | <n>MB/s (KB, KiB, MiB…) | pulse:<block>/<ms>ms | hourly:<24 percentages>',
    )
    .option(
      '--window <spec>',
      'e.g. "Mon-Fri 08-18 closed" (levels: all, medium-and-high, high-only, closed); repeatable, applied in order on top of an open week',
      collect,
      [],
    )
    .option(
      '--availability <digits>',
      'the whole week as 168 digits (0 all, 1 medium and high, 2 high only, 3 closed), Sunday 00:00 first',
    )
    .option(
      '--time-zone <zone>',
      'IANA zone the window and hourly limits are read in, e.g. Europe/Berlin ("server" = the site server\'s)',
    )
    .option(
      '--validation-schedule <string>',
      'content validation schedule (a schedule string, see `sitecast schedule new`; "none" clears): re-hash what the DP holds, lowest priority',
    )
    .option('--validation-repair', 'with --validation-schedule: repair what a validation finds bad, at once')
    .option(
      '--maintenance <on|off>',
      'SetDPMaintenanceMode: on = take no new content (validation still runs)',
      onOff,
    )
    .action(
      act(async (ctx, ref: string, o: SetOptions) => {
        const site = await ctx.site();
        if (o.availability !== undefined && o.window.length > 0) {
          throw new SitecastError('INVALID_PARAMETER', 'give --availability or --window, not both', {
            field: 'Availability',
          });
        }
        const availability =
          o.availability !== undefined
            ? parseAvailability(o.availability)
            : o.window.length > 0
              ? o.window.reduce(applyWindow, alwaysOpen)
              : undefined;
        let updated: DistributionPoint = await site.dps.get(ref);
        if (o.rateLimit !== undefined || availability !== undefined || o.timeZone !== undefined) {
          updated = await site.dpSettings.setBandwidth(ref, {
            ...(o.rateLimit !== undefined && { rateLimit: o.rateLimit }),
            ...(availability !== undefined && { availability }),
            ...(o.timeZone !== undefined && { timeZone: o.timeZone === 'server' ? null : o.timeZone }),
          });
        }
        if (o.maintenance !== undefined)
          updated = await site.dpSettings.setMaintenanceMode(ref, o.maintenance);
        if (o.validationSchedule !== undefined) {
          const schedule = /^none$/i.test(o.validationSchedule.trim()) ? null : o.validationSchedule;
          updated = await site.dpSettings.setValidationSchedule(ref, schedule, o.validationRepair === true);
        } else if (o.validationRepair) {
          throw new SitecastError(
            'INVALID_PARAMETER',
            '--validation-repair goes with --validation-schedule',
            {
              field: 'ValidationSchedule',
            },
          );
        }
        const b = updated.bandwidth ?? defaultBandwidth;
        ctx.result(
          () => ({
            Name: updated.name,
            NALPath: updated.nalPath,
            RateLimit: formatRateLimit(b.rateLimit),
            Availability: formatAvailability(b.availability),
            TimeZone: b.timeZone,
            MaintenanceMode: updated.maintenanceMode,
            ValidationSchedule: updated.validation?.schedule ?? null,
            ValidationRepair: updated.validation?.repair ?? false,
          }),
          () => describeSettings(updated),
        );
      }),
    );
}

function onOff(value: string): boolean {
  if (/^(on|true|1)$/i.test(value)) return true;
  if (/^(off|false|0)$/i.test(value)) return false;
  throw new InvalidArgumentError('--maintenance must be on or off');
}

/** "Mon-Fri 08-18 closed", "Sat 00-24 high-only", "Sun,Wed 22-24 all". */
export function applyWindow(m: AvailabilityMatrix, spec: string): AvailabilityMatrix {
  const parts = /^\s*(\S+)\s+(\d{1,2})-(\d{1,2})\s+(\S+)\s*$/.exec(spec);
  const bad = (why: string): SitecastError =>
    new SitecastError(
      'INVALID_PARAMETER',
      `--window ${JSON.stringify(spec)}: ${why} (expected e.g. "Mon-Fri 08-18 closed")`,
      { field: 'Availability' },
    );
  if (!parts) throw bad('not <days> <from>-<to> <level>');
  const level = levelNames[parts[4]!.toLowerCase()];
  if (level === undefined)
    throw bad(`unknown level ${JSON.stringify(parts[4])}; use ${Object.keys(levelNames).join(', ')}`);
  const days = new Set<number>();
  for (const piece of parts[1]!.split(',')) {
    const [from, to = from] = piece.split('-').map((d) => dayIndex(d));
    if (from === undefined || to === undefined || from < 0 || to < 0)
      throw bad(`unknown day in ${JSON.stringify(piece)}`);
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  const fromHour = Number(parts[2]);
  const toHour = Number(parts[3]);
  if (fromHour >= toHour || toHour > 24) throw bad(`hours ${fromHour}-${toHour} must satisfy from < to ≤ 24`);
  return withHours(m, [...days], fromHour, toHour, level);
}

function dayIndex(name: string): number {
  return DAY_NAMES.findIndex((d) => d.toLowerCase() === name.slice(0, 3).toLowerCase());
}

/** A readable summary with the week as a grid (one glyph per hour). */
export function describeSettings(dp: DistributionPoint): string {
  const b = dp.bandwidth ?? defaultBandwidth;
  const lines = [
    `${dp.name}: rate limit ${formatRateLimit(b.rateLimit)}; maintenance mode ${dp.maintenanceMode ? 'ON (no new content)' : 'off'}`,
    `content validation: ${dp.validation?.schedule ? `${dp.validation.schedule}${dp.validation.repair ? ', repairing' : ', report only'}` : 'not scheduled'}`,
    `availability (${b.timeZone ?? 'site server time zone'}; . all, m medium and high, h high only, x closed):`,
    `      ${Array.from({ length: 24 }, (_, h) => (h % 6 === 0 ? String(h).padEnd(6) : '')).join('')}`,
  ];
  for (let d = 0; d < 7; d++) {
    lines.push(
      `  ${DAY_NAMES[d]} ${b.availability
        .slice(d * 24, d * 24 + 24)
        .map((l) => glyphs[l])
        .join('')}`,
    );
  }
  return lines.join('\n');
}
