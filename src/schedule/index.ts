export {
  ScheduleKind,
  WeekdayNames,
  checkScheduleToken,
  scheduleClassName,
  startTimeIso,
  type ScheduleClassName,
  type ScheduleKindCode,
  type ScheduleStartTime,
  type SMS_ScheduleToken,
  type SMS_ST_NonRecurring,
  type SMS_ST_RecurInterval,
  type SMS_ST_RecurWeekly,
  type SMS_ST_RecurMonthlyByWeekday,
  type SMS_ST_RecurMonthlyByDate,
  type TokenPosition,
} from './schedule-token.js';
export { readScheduleString, writeScheduleString } from './schedule-codec.js';
export { nextOccurrence, previousOccurrence, nextOfAny, missedRun } from './next-occurrence.js';
export { describeSchedule, formatConsoleTime } from './describe-schedule.js';
export { checkTimeZone, systemTimeZone, instantOf, wallTimeAt, type WallTime } from './zoned-time.js';
