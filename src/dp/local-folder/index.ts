export { FolderDpStore } from './folder-dp-store.js';
export type { FolderDpStoreOptions } from './folder-dp-store.js';
export { MAX_CHUNK_BYTES } from './received-manifest.js';
export { LocalFolderAdapter, createLocalFolderDp } from './local-folder-adapter.js';
