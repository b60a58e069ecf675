import type { DistPointStatus } from '../distribution/index.js';
import { renderTable } from './table.js';
import { formatBytes, formatRate } from './units.js';

/**
 * The per-DP table of `status` and of every `--wait`: state, versions, transfer figures, and the last error
 * or, for a transfer held back (closed window, maintenance mode, rate limit), why and until when.
 */
export function renderDpTable(rows: readonly DistPointStatus[]): string {
  if (rows.length === 0) return 'No distribution point has this package.\n';
  return renderTable(
    [
      { header: 'DP' },
      { header: 'State' },
      { header: 'Version', align: 'right' },
      { header: 'Transfer', align: 'right' },
      { header: 'Sent', align: 'right' },
      { header: 'Rate', align: 'right' },
      { header: 'Attempts', align: 'right' },
      { header: 'Last error' },
    ],
    rows.map((r) => [
      r.ServerName,
      `${r.StateName} (${r.State})`,
      `${r.SourceVersion}/${r.TargetVersion}`,
      `${formatBytes(r.BytesDone)} / ${formatBytes(r.BytesTotal)}`,
      formatBytes(r.BytesSent),
      formatRate(r.TransferRate),
      String(r.Attempts),
      r.WaitReason ? `waiting: ${r.WaitReason}` : (r.LastError ?? ''),
    ]),
  );
}
