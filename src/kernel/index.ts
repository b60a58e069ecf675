export * from './errors.js';
export * from './clock.js';
export * from './progress.js';
export * from './rate-meter.js';
