/**
 * Directory listings of a version's tree, for admins browsing a DP: JSON for scripts, a plain HTML page
 * for browsers. Every name is escaped for where it lands (URL-encoded in links, HTML-escaped in text), and
 * entries that are symlinks resolving outside the tree are left out, as they are not served either.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { locateInTree } from './content-path.js';

export interface ListingEntry {
  readonly name: string;
  readonly type: 'file' | 'directory';
  /** Bytes; 0 for directories. */
  readonly size: number;
  /** Epoch ms (the source file's mtime, kept by the DP). */
  readonly mtime: number;
}

export interface Listing {
  readonly packageId: string;
  readonly version: number;
  readonly manifestId: string;
  /** The directory, relative to the package, `/`-separated, starting and ending with `/`. */
  readonly path: string;
  readonly entries: readonly ListingEntry[];
}

/** Entries of `dir` (a real path inside `tree`), directories first, then by name case-insensitively. */
export async function readListing(
  tree: string,
  dir: string,
  segments: readonly string[],
): Promise<ListingEntry[]> {
  const entries: ListingEntry[] = [];
  for (const dirent of await readdir(dir, { withFileTypes: true })) {
    const entry = await describe(tree, join(dir, dirent.name), [...segments, dirent.name], dirent.name);
    if (entry) entries.push(entry);
  }
  return entries.sort(
    (a, b) =>
      Number(b.type === 'directory') - Number(a.type === 'directory') ||
      a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

async function describe(
  tree: string,
  path: string,
  segments: readonly string[],
  name: string,
): Promise<ListingEntry | null> {
  const link = await lstat(path).catch(() => null);
  if (!link) return null;
  let target = link;
  if (link.isSymbolicLink()) {
    const inside = await locateInTree(tree, segments);
    if (!inside) return null;
    target = await stat(inside.absolute);
  }
  if (target.isDirectory()) return { name, type: 'directory', size: 0, mtime: Math.round(target.mtimeMs) };
  if (target.isFile()) return { name, type: 'file', size: target.size, mtime: Math.round(target.mtimeMs) };
  return null; // sockets, fifos, devices: nothing a client can download
}

export function listingHtml(listing: Listing, mountPath: string): string {
  const title = `${listing.packageId}${listing.path}`;
  const rows = listing.entries.map((e) => {
    const suffix = e.type === 'directory' ? '/' : '';
    const href = escapeHtml(encodeURIComponent(e.name) + suffix);
    const size = e.type === 'directory' ? '-' : String(e.size);
    return `<tr><td><a href="${href}">${escapeHtml(e.name + suffix)}</a></td><td class="n">${size}</td><td>${new Date(e.mtime).toISOString()}</td></tr>`;
  });
  if (listing.path !== '/') rows.unshift('<tr><td><a href="../">../</a></td><td></td><td></td></tr>');
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    `<title>Index of ${escapeHtml(`${mountPath}/${title}`)}</title>`,
    '<style>body{font-family:sans-serif}td{padding:0 1em}.n{text-align:right}</style>',
    '</head><body>',
    `<h1>Index of ${escapeHtml(title)}</h1>`,
    `<p>Version ${listing.version}, manifest ${escapeHtml(listing.manifestId)}</p>`,
    '<table><tr><th>Name</th><th>Size (bytes)</th><th>Modified (UTC)</th></tr>',
    ...rows,
    '</table></body></html>',
    '',
  ].join('\n');
}

/** `application/json` asked for explicitly gets JSON; browsers (and anything else) get HTML. */
export function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && /\bapplication\/json\b/i.test(accept);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
