/** Real WIMs for tests, made with wimlib-imagex (Debian package `wimtools`) from tiny generated trees. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface WimImageSpec {
  readonly name: string;
  readonly description?: string;
  /** FLAGS (the edition id of a Windows image). */
  readonly flags?: string;
  /** Relative path → content of the captured tree; a small default tree when left out. */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** `--image-property` values, e.g. { 'WINDOWS/ARCH': '9', 'WINDOWS/VERSION/BUILD': '22631' }. */
  readonly properties?: Readonly<Record<string, string>>;
}

function wimlib(args: readonly string[]): void {
  execFileSync('wimlib-imagex', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
}

function tree(files: Readonly<Record<string, string | Buffer>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sitecast-wimtree-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

/**
 * Writes a WIM at `path` holding `images` in order (capture, then append): index i + 1 is images[i].
 * `compress` is wimlib's --compress (default LZX). Appending to an existing `path` adds images after its own.
 */
export function makeWim(
  path: string,
  images: readonly WimImageSpec[],
  options: {
    compress?: 'none' | 'XPRESS' | 'LZX';
    solid?: boolean;
    append?: boolean;
    firstIndex?: number;
  } = {},
): string {
  mkdirSync(dirname(path), { recursive: true });
  let index = options.firstIndex ?? 1;
  images.forEach((spec, i) => {
    const src = tree(spec.files ?? { 'Windows/System32/config.txt': `image ${spec.name}\n` });
    try {
      const verb = i === 0 && !options.append ? 'capture' : 'append';
      wimlib([
        verb,
        src,
        path,
        spec.name,
        spec.description ?? '',
        ...(spec.flags ? [`--flags=${spec.flags}`] : []),
        ...(verb === 'capture'
          ? options.solid
            ? ['--solid']
            : [`--compress=${options.compress ?? 'LZX'}`]
          : []),
      ]);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
    const props = Object.entries(spec.properties ?? {});
    if (props.length > 0) {
      wimlib(['info', path, String(index), ...props.flatMap(([k, v]) => ['--image-property', `${k}=${v}`])]);
    }
    index++;
  });
  return path;
}

/**
 * A WIM whose single image holds the files of `folder` uncompressed, so the WIM's bytes follow the files'
 * bytes (a changed region of a file is a changed region of the WIM): for big delta tests.
 */
export function captureFolderWim(folder: string, path: string, name = 'Image'): string {
  mkdirSync(dirname(path), { recursive: true });
  wimlib(['capture', folder, path, name, '--compress=none']);
  return path;
}
