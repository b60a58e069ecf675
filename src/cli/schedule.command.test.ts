import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testHome, type TestHome } from './cli.test-helpers.js';

describe('sitecast schedule convert / new (in-process; no site is opened)', () => {
  let home: TestHome;
  beforeAll(() => {
    home = testHome();
  });
  afterAll(() => home.cleanup());
  const zone = ['--tz', 'Europe/Berlin', '--after', '2026-03-28T12:00'];

  it('convert prints one table row per token: kind, start, recurrence, next run in the zone', async () => {
    const r = await home.run([
      'schedule',
      'convert',
      '7913788000080000',
      '55147880001b2000' + '0001200000100038',
      ...zone,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Token\s+Kind\s+Start\s+Recurrence\s+Next run \(Europe\/Berlin\)$/);
    expect(lines[1]).toMatch(
      /^7913788000080000\s+SMS_ST_NonRecurring\s+2004-07-19 08:30\s+Occurs on 7\/19\/2004 8:30 AM\s+-$/,
    );
    expect(lines[2]).toMatch(
      /^55147880001B2000\s+SMS_ST_RecurWeekly\s+2004-07-20 08:21\s+Occurs on Tuesday every 1 weeks effective 7\/20\/2004 8:21 AM\s+2026-03-31 08:21$/,
    );
    // Sunday 29 March 2026 is a DST day in Berlin; midnight exists, so it runs at 00:00.
    expect(lines[3]).toMatch(
      /^0001200000100038\s+SMS_ST_RecurInterval\s+1970-02-01 00:00\s+Occurs every 7 days .*\s2026-03-29 00:00$/,
    );
    expect(lines).toHaveLength(4);
  });

  it('convert --json gives the SMS_ST_* fields, the class, the text and the next run as ISO', async () => {
    const r = await home.run([
      '--json',
      'schedule',
      'convert',
      '55147880001B2000',
      '--tz',
      'America/New_York',
      '--after',
      '2026-03-01T00:00Z',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        ScheduleString: '55147880001B2000',
        ClassName: 'SMS_ST_RecurWeekly',
        Kind: 3,
        StartTime: { Year: 2004, Month: 7, Day: 20, Hour: 8, Minute: 21 },
        IsGMT: false,
        DayDuration: 0,
        HourDuration: 0,
        MinuteDuration: 0,
        Day: 3,
        ForNumberOfWeeks: 1,
        Description: 'Occurs on Tuesday every 1 weeks effective 7/20/2004 8:21 AM',
        NextRunTime: '2026-03-03T13:21:00.000Z',
      },
    ]);
  });

  it('convert names the token and field of a bad string and exits 2', async () => {
    const r = await home.run(['schedule', 'convert', '7913788000080000' + '7913788000380000']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error 0x80041008 INVALID_PARAMETER: schedule token 1: Kind 7 is out of range (1-5)\n',
    );
    const month = await home.run(['schedule', 'convert', '0001D00000100038']);
    expect(month.code).toBe(2);
    expect(month.stderr).toContain('schedule token 0: StartTime.Month 13 is out of range (1-12)');
  });

  it('new builds the worked examples of the reference from options', async () => {
    const cases: [string[], string][] = [
      [['--once', '--start', '2004-07-19T08:30'], '7913788000080000'],
      [['--weekly', 'Tue', '--start', '2004-07-20T08:21'], '55147880001B2000'],
      [['--every', '7d', '--start', '1970-02-01 00:00'], '0001200000100038'],
    ];
    for (const [args, expected] of cases) {
      const r = await home.run(['schedule', 'new', ...args]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${expected}\n`);
    }
  });

  it('new --json: monthly weekday in UTC with a duration, and the string decodes back to it', async () => {
    const args = ['schedule', 'new', '--monthly-weekday', 'last:tuesday', '--months', '3', '--gmt'];
    const r = await home.run([
      '--json',
      ...args,
      '--start',
      '2026-01-28T09:00',
      '--duration',
      '1h30m',
      ...zone,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      ClassName: 'SMS_ST_RecurMonthlyByWeekday',
      Kind: 4,
      StartTime: { Year: 2026, Month: 1, Day: 28, Hour: 9, Minute: 0 },
      IsGMT: true,
      HourDuration: 1,
      MinuteDuration: 30,
      Day: 3,
      ForNumberOfMonths: 3,
      WeekOrder: 0,
      Description:
        'Occurs on the last Tuesday of every 3 months effective 1/28/2026 9:00 AM UTC for 1 hour 30 minutes',
      NextRunTime: '2026-04-28T09:00:00.000Z',
    });
    const back = await home.run(['--json', 'schedule', 'convert', doc.ScheduleString as string, ...zone]);
    expect((JSON.parse(back.stdout) as unknown[])[0]).toEqual(doc);
  });

  it('new without --start starts now (wall clock in --tz)', async () => {
    const before = new Date();
    const r = await home.run(['--json', 'schedule', 'new', '--every', '6h', '--tz', 'UTC']);
    expect(r.code, r.stderr).toBe(0);
    const start = (JSON.parse(r.stdout) as { StartTime: Record<string, number> }).StartTime;
    const startMs = Date.UTC(start.Year!, start.Month! - 1, start.Day, start.Hour, start.Minute);
    expect(startMs).toBeGreaterThanOrEqual(before.getTime() - 60_000);
    expect(startMs).toBeLessThanOrEqual(Date.now());
  });

  it.each([
    [['--every', '0m'], '--every', 'must not be zero'],
    [['--every', '90m'], '--every', 'minutes must be at most 59'],
    [['--every', '7x'], '--every', 'must be <N>d, <N>h or <N>m'],
    [['--weekly', 'Funday'], '--weekly', '"Funday" is not a weekday'],
    [['--weekly', 'Mon', '--weeks', '5'], '--weeks', 'from 1 to 4'],
    [['--every', '1d', '--weeks', '2'], '--weeks', '--weeks goes with --weekly'],
    [['--monthly-day', '32'], '--monthly-day', 'from 0 to 31'],
    [['--monthly-day', '3', '--months', '13'], '--months', 'from 1 to 12'],
    [
      ['--monthly-day', '31', '--months', '12', '--start', '2026-04-01T00:00'],
      '--monthly-day',
      'never occurs',
    ],
    [
      ['--monthly-weekday', 'fifth:Tue'],
      '--monthly-weekday',
      'must be <first|second|third|fourth|last>:<Sun..Sat>',
    ],
    [['--monthly-weekday', 'last'], '--monthly-weekday', 'must be'],
    [['--monthly-weekday', 'last:Xyz'], '--monthly-weekday', 'is not a weekday'],
    [
      ['--once', '--start', '2026-02-30T00:00'],
      '--start',
      'StartTime.Day 30 does not exist in February 2026',
    ],
    [['--once', '--start', 'tomorrow'], '--start', 'must be YYYY-MM-DDTHH:MM'],
    [['--once', '--duration', '24h'], '--duration', 'hours must be at most 23'],
    [['--once', '--tz', 'Mars/Olympus'], '--tz', 'not an IANA time zone'],
    [['--once', '--after', 'soon'], '--after', 'must be YYYY-MM-DDTHH:MM'],
    [[], '--once', 'give one of --once, --every'],
    [['--once', '--every', '1d'], '--every', 'give only one of'],
  ])('new %j is INVALID_PARAMETER naming %s', async (args, option, message) => {
    const r = await home.run(['schedule', 'new', ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error 0x80041008 INVALID_PARAMETER: /);
    expect(r.stderr).toContain(option);
    expect(r.stderr).toContain(message);
  });
});
