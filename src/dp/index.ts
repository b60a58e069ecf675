export type * from './dp-adapter.js';
