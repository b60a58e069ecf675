/** The benchmarks `npm run bench` knows, in the order it runs them. */
import { benchmark as apiLoadBenchmark } from './api-load.js';
import type { Benchmark } from './benchmark.js';
import { benchmark as deltaBenchmark } from './delta-200mib.js';
import { benchmark as fanoutBenchmark } from './dp-fanout.js';
import { benchmark as hierarchyBenchmark } from './hierarchy-refresh.js';
import { benchmark as chunkingBenchmark } from './ingest-chunking.js';
import { benchmark as fileBenchmark } from './ingest-file.js';
import { benchmark as rssBenchmark } from './ingest-rss.js';
import { benchmark as treeBenchmark } from './ingest-tree.js';
import { benchmark as wimDeltaBenchmark } from './wim-delta.js';
import { benchmark as wimMetadataBenchmark } from './wim-metadata.js';

export type { Benchmark, BenchContext, BenchResult, TargetCheck, PeerTool } from './benchmark.js';

export const benchmarks: readonly Benchmark[] = [
  fileBenchmark,
  treeBenchmark,
  rssBenchmark,
  deltaBenchmark,
  chunkingBenchmark,
  wimMetadataBenchmark,
  hierarchyBenchmark,
  apiLoadBenchmark,
  fanoutBenchmark,
  wimDeltaBenchmark,
];
