/** The image table of `image show` and `image inspect`, and the WIM header facts of `image inspect`. */
import { architectureName, type ImageInformation } from '../catalog/index.js';
import type { WimMetadata } from '../wim/index.js';
import { renderTable } from './table.js';
import { formatBytes } from './units.js';

/** One line per image: what an admin picks an ImageIndex from. */
export function renderImageTable(rows: readonly ImageInformation[]): string {
  if (rows.length === 0) return 'No images.\n';
  return renderTable(
    [
      { header: 'Index', align: 'right' },
      { header: 'Name' },
      { header: 'Edition' },
      { header: 'Arch' },
      { header: 'OS version' },
      { header: 'Language' },
      { header: 'Size', align: 'right' },
    ],
    rows.map((r) => [
      String(r.index),
      r.name,
      r.edition,
      architectureName(r.architecture),
      r.imageOsVersion,
      r.language,
      formatBytes(r.size),
    ]),
  );
}

/** Header facts of a WIM (GetImageProperties / `image inspect`), then its warnings. */
export function renderWimFacts(wim: WimMetadata): string {
  const h = wim.header;
  const lines = [
    `${wim.path}: ${formatBytes(wim.fileSize)}`,
    `images ${h.imageCount}, boot index ${h.bootIndex === 0 ? 'none' : String(h.bootIndex)}, ` +
      `compression ${h.compression}${h.solid ? ' (solid)' : ''}, part ${h.partNumber} of ${h.totalParts}`,
    ...wim.warnings.map((w) => `warning: ${w}`),
  ];
  return lines.join('\n') + '\n';
}
