/**
 * What Node itself can do on this machine for issue 4's push, as a reference row beside rsync: one sender
 * (the bench process) streams the package's chunks as frames `[32-byte id][u32 BE length][bytes]` over raw
 * loopback TCP to `count` receiver processes at once; each receiver hashes every chunk against its id
 * (crypto.hash), copies it into a page-aligned buffer, writes 8 MiB at a time with O_DIRECT and fsyncs at
 * the end. No HTTP, no authentication, no database, no progress, no resumability: a floor for a design
 * that verifies every chunk on every DP, not a product.
 *
 * Run as `node --import tsx bench/node-floor.ts <port> <output file>` for one receiver (it prints `ready`,
 * and answers its CPU seconds when the sender's end frame arrives).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hash } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync, constants } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { wasm } from '../src/content/wasm-api.js';

const HEADER = 36;
const STAGING = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;
const DIRECT_ALIGN = 4096;

export interface FloorRun {
  readonly wallMs: number;
  /** Sender (this process, while sending) plus receivers (from their first byte to their fsync). */
  readonly cpuMs: number;
}

/** Sends `source` to `count` fresh receivers writing into `dir`; resolves once every one has fsync'd. */
export async function nodeFloor(source: string, dir: string, count: number): Promise<FloorRun> {
  const data = readFileSync(source);
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += CHUNK) {
    const bytes = data.subarray(at, Math.min(at + CHUNK, data.length));
    const header = Buffer.alloc(HEADER);
    header.write(hash('sha256', bytes, 'hex'), 0, 32, 'hex');
    header.writeUInt32BE(bytes.length, 32);
    frames.push(header, bytes);
  }
  frames.push(Buffer.alloc(HEADER)); // length 0: the end
  const children: ChildProcess[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '0', `${dir}/floor-${i}.bin`],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          child.stdout.once('data', (b: Buffer) => resolve(Number(/ready (\d+)/.exec(String(b))?.[1])));
          child.once('exit', () => reject(new Error('a node-floor receiver exited before it listened')));
        }),
      );
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const receiverCpu = await Promise.all(ports.map((port) => sendTo(port, frames)));
    const wallMs = performance.now() - t0;
    const sender = process.cpuUsage(cpu0);
    const cpuMs = (sender.user + sender.system) / 1000 + receiverCpu.reduce((a, b) => a + b, 0);
    return { wallMs, cpuMs };
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

/** Streams the frames to one receiver (backpressure respected); resolves with its CPU ms. */
function sendTo(port: number, frames: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      void (async () => {
        for (let i = 0; i < frames.length; i += 256) {
          socket.cork();
          let ok = true;
          for (const f of frames.slice(i, i + 256)) ok = socket.write(f);
          socket.uncork();
          if (!ok) await new Promise((r) => socket.once('drain', r));
        }
      })();
    });
    socket.once('data', (b: Buffer) => {
      socket.end();
      resolve(Number(String(b)));
    });
    socket.once('error', reject);
  });
}

/** One receiver: see the file comment. */
function receive(port: number, out: string): void {
  // A WebAssembly memory is page-aligned, as O_DIRECT wants (nothing else is imported: a bare process).
  const memory = new wasm.Memory({ initial: STAGING / 65536, maximum: STAGING / 65536 });
  const staging = new Uint8Array(memory.buffer as ArrayBuffer, 0, STAGING);
  const fd = openSync(out, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
  let staged = 0;
  let written = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  const server = net.createServer((socket) => {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let header: Buffer | null = null;
    const take = (n: number): Buffer => {
      const first = pending[0]!;
      let out: Buffer;
      if (first.length >= n) {
        out = first.subarray(0, n);
        if (first.length > n) pending[0] = first.subarray(n);
        else pending.shift();
      } else {
        const all = Buffer.concat(pending, pendingBytes);
        out = all.subarray(0, n);
        pending.length = 0;
        if (all.length > n) pending.push(all.subarray(n));
      }
      pendingBytes -= n;
      return out;
    };
    socket.on('data', (piece: Buffer) => {
      cpu0 ??= process.cpuUsage();
      pending.push(piece);
      pendingBytes += piece.length;
      for (;;) {
        if (!header) {
          if (pendingBytes < HEADER) return;
          header = take(HEADER);
          if (header.readUInt32BE(32) === 0) return finish(socket);
        }
        const length = header.readUInt32BE(32);
        if (pendingBytes < length) return;
        const chunk = take(length);
        if (hash('sha256', chunk, 'hex') !== header.toString('hex', 0, 32)) throw new Error('bad chunk');
        header = null;
        for (let from = 0; from < chunk.length;) {
          const n = Math.min(chunk.length - from, STAGING - staged);
          staging.set(chunk.subarray(from, from + n), staged);
          staged += n;
          from += n;
          if (staged === STAGING) {
            writeSync(fd, staging, 0, STAGING, written);
            written += STAGING;
            staged = 0;
          }
        }
      }
    });
  });
  const finish = (socket: net.Socket): void => {
    if (staged > 0) {
      const padded = Math.ceil(staged / DIRECT_ALIGN) * DIRECT_ALIGN;
      staging.fill(0, staged, padded);
      writeSync(fd, staging, 0, padded, written);
      written += staged;
      ftruncateSync(fd, written);
    }
    fsyncSync(fd);
    closeSync(fd);
    const used = process.cpuUsage(cpu0);
    socket.end(String((used.user + used.system) / 1000));
    server.close();
  };
  server.listen(port, '127.0.0.1', () => {
    const address = server.address() as net.AddressInfo;
    process.stdout.write(`ready ${address.port}\n`);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) receive(Number(process.argv[2]), process.argv[3]!);
