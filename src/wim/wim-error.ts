import { SitecastError } from '../kernel/index.js';

/** The parameter a caller of GetImageProperties names; every reader error points at it. */
export const WIM_FIELD = 'SourceImagePath';

/**
 * A malformed-WIM error: INVALID_PARAMETER on SourceImagePath, with the WIM field at fault and the byte
 * offset (in the file) where it lives, so an admin can look at it with a hex viewer.
 */
export function wimError(wimField: string, offset: number, problem: string, path?: string): SitecastError {
  const where = `${wimField} at offset 0x${offset.toString(16)}`;
  return new SitecastError(
    'INVALID_PARAMETER',
    `${path ? `${path}: ` : ''}not a readable WIM: ${where}: ${problem}`,
    { field: WIM_FIELD, wimField, offset, problem, ...(path ? { path } : {}) },
  );
}
