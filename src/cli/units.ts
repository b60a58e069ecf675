/** How sizes, rates, durations and times read in the CLI's tables and progress lines. */

const binaryUnits = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `512 B`, `1.5 KiB`, `12.3 MiB`, `1.02 GiB`: three significant digits, binary units. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 'B';
  for (const u of binaryUnits) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** `12.3 MiB/s`; a dash while the rate is unknown. */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '-';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** `0:42`, `12:05`, `1:02:03`; `-:--` when unknown. */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-:--';
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** `45%`, `100%`; `-` with nothing to do. */
export function formatPercent(done: number, total: number): string {
  if (total <= 0) return '-';
  return `${Math.floor((Math.min(done, total) * 100) / total)}%`;
}

/** `2026-11-26 02:58:44` in UTC: the status tables' time column (ISO strings in, readable out). */
export function formatTime(iso: string | number | null): string {
  if (iso === null) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

/** `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; `never` for null; `just now` for a time not yet passed. */
export function formatAgo(at: number | null, now = Date.now()): string {
  if (at === null) return 'never';
  const s = Math.floor((now - at) / 1000);
  if (s < 1) return 'just now';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.floor(s / 60)} min ago`;
  if (s < 2 * 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** `text` cut to `max` characters with an ellipsis, for table cells. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The prefix of log lines people follow: `2026-11-26T02:58:44.123Z`. */
export function timestamp(now = Date.now()): string {
  return new Date(now).toISOString();
}
