/**
 * Parses the part of an AdminService URL after `/AdminService/wmi/`: `Class`, `Class('PS100039')`,
 * `Class(5)`, `Class(PackageID='…',ServerNALPath='…')`, `Class.Method`, `Class/AdminService.Method`,
 * `Class('ID')/AdminService.Method`, `$metadata` and the empty service root. String keys follow OData
 * literal rules (`''` is a quote), so a key may hold `/`, `(` or `)`.
 */
import { SitecastError } from '../kernel/index.js';

export type KeyLiteral =
  | { readonly kind: 'positional'; readonly value: string | number }
  | { readonly kind: 'named'; readonly values: Readonly<Record<string, string | number>> };

export type ResourcePath =
  | { readonly kind: 'root' }
  | { readonly kind: 'metadata' }
  | { readonly kind: 'collection'; readonly className: string }
  | { readonly kind: 'instance'; readonly className: string; readonly key: KeyLiteral }
  | { readonly kind: 'static-method'; readonly className: string; readonly method: string }
  | {
      readonly kind: 'instance-method';
      readonly className: string;
      readonly key: KeyLiteral;
      readonly method: string;
    };

const identifier = /^[A-Za-z_][A-Za-z0-9_]*/;

/** `path` is already percent-decoded and has no query string. */
export function parseResourcePath(path: string): ResourcePath {
  const text = path.replace(/\/+$/, '');
  if (text === '') return { kind: 'root' };
  if (text === '$metadata') return { kind: 'metadata' };
  const cls = identifier.exec(text);
  if (!cls) throw pathError(text, 1, 'expected a class name');
  const className = cls[0];
  let at = className.length;
  if (at === text.length) return { kind: 'collection', className };
  if (text[at] === '.') return { kind: 'static-method', className, method: methodName(text, at + 1) };
  if (text[at] === '/') {
    const method = boundMethod(text, at);
    return { kind: 'static-method', className, method };
  }
  if (text[at] !== '(') throw pathError(text, at + 1, "expected '(', '.' or '/' after the class name");
  const [key, end] = parseKey(text, at + 1);
  at = end;
  if (at === text.length) return { kind: 'instance', className, key };
  if (text[at] !== '/') throw pathError(text, at + 1, "expected '/AdminService.<Method>' after the key");
  return { kind: 'instance-method', className, key, method: boundMethod(text, at) };
}

/** `/AdminService.Method` (the namespace is optional) starting at `at` (the slash). */
function boundMethod(text: string, at: number): string {
  const rest = text.slice(at + 1);
  const start = rest.startsWith('AdminService.') ? at + 1 + 'AdminService.'.length : at + 1;
  return methodName(text, start);
}

function methodName(text: string, start: number): string {
  const m = identifier.exec(text.slice(start));
  if (!m || start + m[0].length !== text.length) throw pathError(text, start + 1, 'expected a method name');
  return m[0];
}

/** The key between '(' (at `start`) and ')': returns it and the index after ')'. */
function parseKey(text: string, start: number): [KeyLiteral, number] {
  let at = start;
  const named: Record<string, string | number> = {};
  let positional: string | number | undefined;
  for (;;) {
    const name = identifier.exec(text.slice(at));
    if (name && text[at + name[0].length] === '=') {
      if (Object.hasOwn(named, name[0])) throw pathError(text, at + 1, `key ${name[0]} is given twice`);
      at += name[0].length + 1;
      const [value, next] = literal(text, at);
      named[name[0]] = value;
      at = next;
    } else {
      if (positional !== undefined || Object.keys(named).length > 0) {
        throw pathError(text, at + 1, 'expected Name=value in a key of several properties');
      }
      const [value, next] = literal(text, at);
      positional = value;
      at = next;
    }
    if (text[at] === ',') {
      if (positional !== undefined) throw pathError(text, at + 1, 'a single key value takes no comma');
      at++;
      continue;
    }
    if (text[at] === ')') break;
    throw pathError(text, at + 1, "expected ',' or ')' in the key");
  }
  const key: KeyLiteral =
    positional !== undefined ? { kind: 'positional', value: positional } : { kind: 'named', values: named };
  return [key, at + 1];
}

/** A quoted string ('' escapes a quote) or an integer. */
function literal(text: string, at: number): [string | number, number] {
  if (text[at] === "'") {
    let value = '';
    let i = at + 1;
    for (;;) {
      if (i >= text.length) throw pathError(text, at + 1, 'unterminated string in the key');
      if (text[i] === "'") {
        if (text[i + 1] === "'") {
          value += "'";
          i += 2;
          continue;
        }
        return [value, i + 1];
      }
      value += text[i];
      i++;
    }
  }
  const m = /^-?\d{1,15}/.exec(text.slice(at));
  if (!m) throw pathError(text, at + 1, "expected a quoted string ('…') or a number");
  return [Number(m[0]), at + m[0].length];
}

function pathError(text: string, position: number, message: string): SitecastError {
  return new SitecastError(
    'INVALID_PARAMETER',
    `resource path: ${message} at column ${position} of ${JSON.stringify(text.slice(0, 200))}`,
    {
      field: 'path',
      position,
    },
  );
}
