/**
 * Calendar arithmetic on plain dates (proleptic Gregorian, no time zone). Dates are counted as day numbers
 * (days since 1970-01-01) so that "N days later" and "which weekday" are integer maths, not Date objects.
 */

export interface CivilDate {
  readonly year: number;
  /** 1-12. */
  readonly month: number;
  /** 1-31. */
  readonly day: number;
}

const msPerDay = 86_400_000;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** 28-31 for `month` 1-12 of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 (negative before it). */
export function dayNumber(year: number, month: number, day: number): number {
  return Math.round(Date.UTC(year, month - 1, day) / msPerDay);
}

export function fromDayNumber(n: number): CivilDate {
  const d = new Date(n * msPerDay);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(dayNo: number): number {
  // 1970-01-01 was a Thursday.
  return (((dayNo + 4) % 7) + 7) % 7;
}

/** Months since January 1970 (0 = 1970-01): what "every N months" counts in. */
export function monthIndex(year: number, month: number): number {
  return (year - 1970) * 12 + (month - 1);
}

export function fromMonthIndex(index: number): { readonly year: number; readonly month: number } {
  const year = 1970 + Math.floor(index / 12);
  return { year, month: index - (year - 1970) * 12 + 1 };
}
