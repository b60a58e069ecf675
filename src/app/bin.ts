#!/usr/bin/env node
/** The `sitecast` executable: wires process streams, environment and signals to the CLI. */
import { runCli } from '../cli/index.js';
import { runDemo } from './demo.js';
import { steadyHeapGrowth } from './heap-growth.js';
import { openSite } from './site.js';

// Servers, agents and long CLI jobs stream content: see heap-growth.ts for why and what it measured.
steadyHeapGrowth();

const shutdown = new AbortController();
let signals = 0;
const onSignal = (): void => {
  signals++;
  // The first signal asks for a graceful stop (jobs handed back); a second one does not wait for it.
  if (signals > 1) process.exit(130);
  shutdown.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, env: process.env, shutdown: shutdown.signal },
  { openSite, runDemo },
);
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.exitCode = code;
// Everything is closed by now; should a stray handle keep the loop alive, do not hang the shell.
setTimeout(() => process.exit(code), 2000).unref();
