export {
  Availability,
  DAY_NAMES,
  allows,
  alwaysOpen,
  formatAvailability,
  levelAt,
  localDayHour,
  nextClosing,
  nextOpening,
  parseAvailability,
  withHours,
  type AvailabilityLevel,
  type AvailabilityMatrix,
} from './availability.js';
export { formatRateLimit, parseRateLimit, unlimited, type RateLimit } from './rate-limit.js';
export {
  TransferPacer,
  type PacerDecision,
  type PacerWait,
  type TransferPacerOptions,
} from './transfer-pacer.js';
