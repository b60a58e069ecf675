/** Errors about a query option, pointing at the offending column with a caret under a snippet. */
import { SitecastError, type ErrorCode } from '../../kernel/index.js';

const window = 32;

/**
 * `$filter: expected ')' at column 14` followed by the text and a caret line. `position` is a 1-based
 * column in `text`; a position past the end points just after the last character.
 */
export function queryError(
  field: string,
  text: string,
  position: number,
  message: string,
  options: { readonly code?: ErrorCode; readonly details?: Readonly<Record<string, unknown>> } = {},
): SitecastError {
  return new SitecastError(
    options.code ?? 'INVALID_QUERY',
    `${field}: ${message} at column ${position}\n${caretSnippet(text, position)}`,
    { field, position, ...options.details },
  );
}

/** Two lines: (part of) the text and a caret under `position`, long texts cut around it with '…'. */
export function caretSnippet(text: string, position: number): string {
  const at = Math.max(0, Math.min(position - 1, text.length));
  const from = Math.max(0, at - window);
  const to = Math.min(text.length, at + window);
  const head = from > 0 ? '…' : '';
  const tail = to < text.length ? '…' : '';
  // Control characters would shift the caret or break the terminal; show them as spaces.
  const shown = text
    .slice(from, to)
    .split('')
    .map((c) => (isControl(c) ? ' ' : c))
    .join('');
  return `  ${head}${shown}${tail}\n  ${' '.repeat(head.length + at - from)}^`;
}

/** A user-supplied value for a message, cut so a megabyte of garbage does not become a megabyte of error. */
export function clip(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** C0 controls and DEL: invisible or harmful in a terminal. */
export function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}
