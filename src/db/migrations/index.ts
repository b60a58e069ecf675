import type { Migration } from 'kysely';
import * as init from './20261126-0001-init.js';

/** Every migration, in order. One change per timestamped file; never edit a landed one. */
export const migrations: Record<string, Migration> = {
  '20261126-0001-init': init,
};
