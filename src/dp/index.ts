export type * from './dp-adapter.js';
export * from './local-folder/index.js';
export * from './http/index.js';
export * from './auth/index.js';
export * from './agent/index.js';
export * from './source/index.js';
