#!/usr/bin/env bash
# Builds the two WIMs `sitecast demo` distributes: test/fixtures/demo/install-v1.wim and install-v2.wim.
#
# The source tree is generated from a seeded PRNG (xorshift32), so every run captures the same files with
# the same timestamps; only the WIM's GUID and creation time differ between runs (wimlib has no flag for
# them), which is why the outputs are committed rather than rebuilt by the tests.
#
# v1: ~1 MiB of text (compressible) and ~3.8 MiB of pseudo-random binaries (incompressible) in nested folders.
# v2: the same tree with small changes, the kind a monthly image update makes:
#     one text file edited, 4 KiB rewritten inside one binary, one 256 KiB file added.
#
# Needs wimlib-imagex (Debian/Ubuntu: apt-get install -y wimtools) and node.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../test/fixtures/demo}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

command -v wimlib-imagex >/dev/null || { echo "wimlib-imagex not found: apt-get install -y wimtools" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tree="$work/tree"

# generate <tree> <phase>: phase 1 writes the v1 tree, phase 2 applies the v2 changes on top of it.
generate() {
  node --input-type=module - "$1" "$2" <<'EOF'
import { mkdirSync, writeFileSync, readFileSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [root, phase] = process.argv.slice(2);

/** xorshift32: tiny, seeded, the same bytes on every machine. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function randomBytes(seed, size) {
  const next = rng(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) {
    const v = next();
    for (let j = 0; j < 4 && i + j < size; j++) buf[i + j] = (v >>> (8 * j)) & 0xff;
  }
  return buf;
}

const words = ('distribution point package source version image refresh content chunk manifest site server ' +
  'status transfer verify install driver update boot kernel registry service network policy client task ' +
  'sequence deployment collection boundary schedule replication priority').split(' ');

function text(seed, size, title) {
  const next = rng(seed);
  const lines = [`; ${title}`, ''];
  let length = 0;
  let n = 0;
  while (length < size) {
    const count = 6 + (next() % 10);
    const line = `${String(++n).padStart(5, '0')} ` + Array.from({ length: count }, () => words[next() % words.length]).join(' ');
    lines.push(line);
    length += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n');
}

const v1Time = new Date('2024-01-09T10:00:00Z');
const v2Time = new Date('2024-02-13T10:00:00Z');

function put(rel, bytes, time) {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  utimesSync(path, time, time);
}

const KiB = 1024;
if (phase === '1') {
  put('Windows/win.ini', text(101, 8 * KiB, 'win.ini'), v1Time);
  put('Windows/System32/drivers/etc/hosts', text(102, 4 * KiB, 'hosts'), v1Time);
  put('Windows/Logs/setup.log', text(103, 384 * KiB, 'setup.log'), v1Time);
  put('Windows/INF/setupapi.dev.log', text(104, 256 * KiB, 'setupapi.dev.log'), v1Time);
  put('Program Files/Contoso/license.txt', text(105, 64 * KiB, 'license'), v1Time);
  put('Program Files/Contoso/readme.txt', text(106, 128 * KiB, 'readme'), v1Time);
  put('Users/Default/NTUSER.DAT.txt', text(107, 160 * KiB, 'default user'), v1Time);
  put('Windows/System32/ntoskrnl-demo.exe', randomBytes(201, 1536 * KiB), v1Time);
  put('Windows/System32/drivers/netdemo.sys', randomBytes(202, 768 * KiB), v1Time);
  put('Program Files/Contoso/app.dll', randomBytes(203, 1024 * KiB), v1Time);
  put('Windows/Boot/boot-demo.sdi', randomBytes(204, 512 * KiB), v1Time);
} else {
  // One text file edited: a changed value and a new section.
  const ini = readFileSync(join(root, 'Windows/win.ini'), 'utf8').replace('; win.ini', '; win.ini (February update)');
  put('Windows/win.ini', Buffer.from(ini + '\n[sitecast]\nDemoVersion=2\n'), v2Time);
  // 4 KiB rewritten inside one binary, as a patched code section would be.
  const dll = readFileSync(join(root, 'Program Files/Contoso/app.dll'));
  randomBytes(303, 4 * KiB).copy(dll, 600 * KiB);
  put('Program Files/Contoso/app.dll', dll, v2Time);
  // One file added.
  put('Windows/servicing/Packages/KB5034123.cab', randomBytes(304, 256 * KiB), v2Time);
}
EOF
}

capture() {
  local wim="$1" desc="$2"
  rm -f "$wim"
  wimlib-imagex capture "$tree" "$wim" "Windows 11 Enterprise (sitecast demo)" "$desc" \
    --flags=Enterprise --no-acls >/dev/null
  # What the site reads into SMS_ImageInformation (see docs wim.md): x64, 10.0.22631.
  wimlib-imagex info "$wim" 1 \
    --image-property WINDOWS/ARCH=9 \
    --image-property WINDOWS/PRODUCTTYPE=WinNT \
    --image-property WINDOWS/LANGUAGES/DEFAULT=en-US \
    --image-property WINDOWS/VERSION/MAJOR=10 \
    --image-property WINDOWS/VERSION/MINOR=0 \
    --image-property WINDOWS/VERSION/BUILD=22631 \
    --image-property "WINDOWS/VERSION/SPBUILD=$3" >/dev/null
}

generate "$tree" 1
capture "$out/install-v1.wim" "sitecast demo image, January build" 2861
generate "$tree" 2
capture "$out/install-v2.wim" "sitecast demo image, February build" 3155

for wim in install-v1.wim install-v2.wim; do
  wimlib-imagex info "$out/$wim" >/dev/null
  printf '%s  %s bytes  sha256 %s\n' "$wim" "$(stat -c %s "$out/$wim")" "$(sha256sum "$out/$wim" | cut -c1-16)"
done
