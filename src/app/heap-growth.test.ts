import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowthFlag, steadyHeapGrowth } from './heap-growth.js';

describe('heap growth', () => {
  it('asks V8 for a fixed growth factor of 2', () => {
    expect(HEAP_GROWING_PERCENT).toBe(100);
    expect(heapGrowthFlag([], '')).toBe('--heap-growing-percent=100');
    expect(heapGrowthFlag(['--import', 'tsx'], '--max-old-space-size=4096')).toBe(
      '--heap-growing-percent=100',
    );
  });

  it("leaves an operator's own setting alone, on the command line or in NODE_OPTIONS", () => {
    expect(heapGrowthFlag(['--heap-growing-percent=300'])).toBeNull();
    expect(heapGrowthFlag(['--heap_growing_percent=50'])).toBeNull();
    expect(heapGrowthFlag([], '--inspect --heap-growing-percent=20')).toBeNull();
    // A flag that merely starts alike is not the same flag.
    expect(heapGrowthFlag(['--heap-growing-percentage=3'])).toBe('--heap-growing-percent=100');
  });

  it('sets the flag in this process (V8 accepts it) unless one was given', () => {
    expect(steadyHeapGrowth([], '')).toBe('--heap-growing-percent=100');
    expect(steadyHeapGrowth(['--heap-growing-percent=100'], '')).toBeNull();
  });
});
