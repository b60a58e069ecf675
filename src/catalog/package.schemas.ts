/** Validation of what admins write: property names of the SDK, errors naming the property. */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { SitecastError } from '../kernel/index.js';
import { PkgSourceFlag } from './package-types.js';

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const uint32 = z.number().int().min(0).max(0xffffffff);

export const packageWritableSchema = z
  .object({
    Name: text(255).min(1, 'must not be empty'),
    Version: text(64),
    Description: text(1024),
    Manufacturer: text(255),
    Language: text(64),
    PkgSourcePath: z.string().nullable(),
    PkgSourceFlag: z.union([z.literal(PkgSourceFlag.NoSource), z.literal(PkgSourceFlag.Direct)]),
    PkgFlags: uint32,
    Priority: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    ImageIndex: z.number().int().min(1).nullable(),
    ForcedDisconnectEnabled: z.boolean(),
    ForcedDisconnectDelay: uint32,
    ForcedDisconnectNumRetries: uint32,
    /** Writing true is the same as calling RefreshPkgSource (reference §1). */
    RefreshPkgSourceFlag: z.boolean(),
    StoredPkgVersion: uint32,
    /** SMS_ScheduleToken objects or their string form; at most 15; null or [] or '' clears it. */
    RefreshSchedule: z.union([z.string(), z.array(z.record(z.string(), z.unknown())), z.null()]),
  })
  .partial()
  .strict();

export type PackageWritable = z.infer<typeof packageWritableSchema>;

/** Parses admin input; unknown or read-only properties and bad values are INVALID_PARAMETER naming the property. */
export function parsePackageProperties(input: unknown): PackageWritable {
  const r = packageWritableSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    throw new SitecastError('INVALID_PARAMETER', `property ${key} is unknown or read-only`, { field: key });
  }
  const field = issue.path.join('.') || 'properties';
  throw new SitecastError('INVALID_PARAMETER', `property ${field}: ${issue.message}`, { field });
}

/** A source path must be absolute (relative paths depend on the server's working directory). */
export function assertSourcePathShape(path: string, field = 'PkgSourcePath'): void {
  if (path.trim() === '') throw new SitecastError('INVALID_PARAMETER', `${field} is empty`, { field });
  if (path.includes('\0'))
    throw new SitecastError('INVALID_PARAMETER', `${field} contains a NUL byte`, { field });
  if (!isAbsolute(path)) {
    throw new SitecastError(
      'INVALID_PARAMETER',
      `${field} ${JSON.stringify(path)} must be an absolute path`,
      { field, path },
    );
  }
}
