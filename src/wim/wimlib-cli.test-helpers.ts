/** Runs `wimlib-imagex` for the tests and parses what it prints, as an independent reading of each WIM. */
import { execFileSync } from 'node:child_process';

export function hasWimlib(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v wimlib-imagex'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function wimlib(args: readonly string[]): Buffer {
  return execFileSync('wimlib-imagex', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

/** `info --header`: "Name = value" lines. */
export function infoHeader(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of wimlib(['info', path, '--header']).toString('utf8').split('\n')) {
    const m = /^(\S[^=]*?)\s+=\s+(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** `info`: the WIM block and one block per image, "Name: value" lines. */
export function info(path: string): { wim: Record<string, string>; images: Record<string, string>[] } {
  const text = wimlib(['info', path]).toString('utf8');
  const [head = '', images = ''] = text.split('Available Images:');
  const fields = (block: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z][A-Za-z ]*):\s*(.*?)\s*$/.exec(line);
      if (m) out[m[1]!] = m[2]!;
    }
    return out;
  };
  return {
    wim: fields(head),
    images: images
      .split(/\n(?=Index:)/)
      .filter((b) => b.includes('Index:'))
      .map(fields),
  };
}

/** `info --xml` as text (UTF-16LE decoded, BOM dropped). */
export function infoXml(path: string): string {
  return wimlib(['info', path, '--xml'])
    .toString('utf16le')
    .replace(/^\uFEFF/, '');
}

const unescape = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** The text of `<TAG>` at a slash path inside a fragment, by regex (deliberately not the reader's parser). */
export function xmlText(fragment: string, path: string): string | undefined {
  let cur: string | undefined = fragment;
  for (const tag of path.split('/')) {
    const m: RegExpExecArray | null = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(cur ?? '');
    cur = m?.[1];
  }
  return cur === undefined ? undefined : unescape(cur);
}

/** The `<IMAGE INDEX="n">` fragments of a WIM XML, in order. */
export function xmlImages(xml: string): string[] {
  return [...xml.matchAll(/<IMAGE INDEX="(\d+)">([\s\S]*?)<\/IMAGE>/g)].map((m) => m[2]!);
}
