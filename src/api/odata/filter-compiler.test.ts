import { describe, expect, it } from 'vitest';
import { prefixRange } from './filter-compiler.js';

describe('prefixRange', () => {
  it('is [prefix, prefix with its last character incremented)', () => {
    expect(prefixRange('["display=\\\\dp01')).toEqual({
      from: '["display=\\\\dp01',
      to: '["display=\\\\dp02',
    });
    expect(prefixRange('a%')).toEqual({ from: 'a%', to: 'a&' });
    expect(prefixRange('émi')).toEqual({ from: 'émi', to: 'émj' });
    expect(prefixRange('z\u007f')).toEqual({ from: 'z\u007f', to: 'z\u0080' });
  });

  it('holds every string starting with the prefix and none other, byte-wise', () => {
    const bytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const words = ['ab', 'abc', 'ab\u007f', 'ab\u0080x', 'ac', 'aa', 'a', 'abé', 'ab\u{1f600}', 'b', ''];
    for (const prefix of ['ab', 'a', 'ab\u007f', 'é']) {
      const { from, to } = prefixRange(prefix)!;
      for (const w of words) {
        const inRange = bytes(w, from) >= 0 && bytes(w, to) < 0;
        expect(inRange, `${JSON.stringify(w)} against ${JSON.stringify(prefix)}`).toBe(w.startsWith(prefix));
      }
    }
  });

  it('gives no range where there is no simple upper bound', () => {
    expect(prefixRange('')).toBeUndefined();
    expect(prefixRange('a\u{10ffff}')).toBeUndefined();
    expect(prefixRange('a\u{1f600}')).toBeUndefined();
  });
});
