/**
 * The part of the WebAssembly JS API the content library uses (tsconfig's lib has no DOM, where its types
 * live): memories for page-aligned and shared buffers, and the gear-hash module (gear-wasm.ts).
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

export interface SharedWasmMemory extends WasmMemory {
  readonly buffer: SharedArrayBuffer;
}

export type WasmModule = { readonly __wasmModule: never };

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Bytes per WebAssembly memory page. */
export const WASM_PAGE = 64 * 1024;
