export type * from './dp-adapter.js';
export * from './local-folder/index.js';
