export { runCli, buildProgram } from './run-cli.js';
export type { CliApp, CliIo, CliStream, DemoCommandOptions } from './cli-io.js';
export { CliContext, type GlobalOptions } from './cli-context.js';
export { waitForPackage, reportWait, type WaitRequest, type WaitOutcome } from './package-wait.js';
export { ProgressTracker, type BarState } from './progress-tracker.js';
export { createProgressView, describeBar, type ProgressView } from './progress-view.js';
export { renderDpTable } from './dp-status-table.js';
export { renderTable, type Column } from './table.js';
export { formatBytes, formatRate, formatEta, formatPercent, formatTime, timestamp } from './units.js';
