/** Facts about the machine a report was made on, and the load other work put on it meanwhile. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { fmtBytes } from './timing.js';

export interface MachineFacts {
  readonly date: string;
  readonly nproc: string;
  readonly cpuModel: string;
  readonly memTotal: string;
  readonly memAvailable: string;
  readonly node: string;
  readonly kernel: string;
  readonly disk: string;
}

function memAvailableBytes(): number | undefined {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** `workDir`'s filesystem, as df prints it (size, free). */
function diskOf(workDir: string): string {
  const r = spawnSync('df', ['-h', '--output=source,fstype,size,avail', workDir], { encoding: 'utf8' });
  const line = (r.stdout ?? '').trim().split('\n')[1];
  return line ? line.trim().replace(/\s+/g, ' ') : 'unknown';
}

export function machineFacts(workDir: string): MachineFacts {
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || String(availableParallelism());
  const avail = memAvailableBytes();
  return {
    date: new Date().toISOString(),
    nproc,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memTotal: fmtBytes(totalmem()),
    memAvailable: avail === undefined ? 'unknown' : fmtBytes(avail),
    node: process.version,
    kernel: release(),
    disk: diskOf(workDir),
  };
}

export interface LoadSummary {
  readonly start: number;
  readonly end: number;
  readonly mean: number;
  readonly max: number;
  /** Linux pressure stall (PSI "some avg10", %): time some task waited for CPU / for I/O. */
  readonly cpuPressure?: { readonly mean: number; readonly max: number };
  readonly ioPressure?: { readonly mean: number; readonly max: number };
}

/** PSI "some avg10" of /proc/pressure/<what>, or undefined where the kernel has no PSI. */
function pressure(what: 'cpu' | 'io'): number | undefined {
  try {
    const m = /^some avg10=([\d.]+)/m.exec(readFileSync(`/proc/pressure/${what}`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function meanMax(values: readonly number[]): { mean: number; max: number } | undefined {
  if (values.length === 0) return undefined;
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
}

/**
 * Samples the 1-minute load average while a benchmark runs. The machine is shared: a load above nproc
 * means the benchmark competed for the CPU, and its wall-clock figures are pessimistic.
 */
export class LoadSampler {
  readonly #samples: number[] = [];
  readonly #cpu: number[] = [];
  readonly #io: number[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(everyMs = 2000) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), everyMs);
    this.#timer.unref();
  }

  #sample(): void {
    this.#samples.push(loadavg()[0]!);
    const cpu = pressure('cpu');
    const io = pressure('io');
    if (cpu !== undefined) this.#cpu.push(cpu);
    if (io !== undefined) this.#io.push(io);
  }

  stop(): LoadSummary {
    clearInterval(this.#timer);
    this.#sample();
    const s = this.#samples;
    const cpuPressure = meanMax(this.#cpu);
    const ioPressure = meanMax(this.#io);
    return {
      start: s[0]!,
      end: s[s.length - 1]!,
      mean: s.reduce((a, b) => a + b, 0) / s.length,
      max: Math.max(...s),
      ...(cpuPressure && { cpuPressure }),
      ...(ioPressure && { ioPressure }),
    };
  }
}
