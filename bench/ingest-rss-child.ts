/**
 * Child process of ingest-rss: snapshots one source into a fresh content library and prints, as one JSON
 * line, its own peak RSS (process.resourceUsage, all threads) and the snapshot's figures.
 *
 *   node --import tsx bench/ingest-rss-child.ts <source> <library-dir>
 */
import { ContentLibrary } from '../src/content/index.js';

const [source, libraryDir] = process.argv.slice(2);
if (!source || !libraryDir) {
  console.error('usage: ingest-rss-child.ts <source> <library-dir>');
  process.exit(2);
}
const rssBefore = process.resourceUsage().maxRSS * 1024;
const lib = await ContentLibrary.open(libraryDir);
const t = performance.now();
const snap = await lib.snapshot(source, { packageId: 'BEN00001', sourceVersion: 1 });
const wallMs = performance.now() - t;
await lib.close();
console.log(
  JSON.stringify({
    // resourceUsage().maxRSS is in KiB.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBeforeBytes: rssBefore,
    wallMs,
    totalBytes: snap.totalBytes,
    chunkCount: snap.chunkCount,
  }),
);
