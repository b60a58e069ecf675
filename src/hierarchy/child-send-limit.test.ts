import { expect, it } from 'vitest';
import { ChildSendLimit } from './child-send-limit.js';

it('lets at most N sends run to one child at a time, other children unaffected', async () => {
  const limit = new ChildSendLimit(2);
  const waits: string[] = [];
  const release1 = await limit.acquire('P01', () => Promise.resolve());
  const release2 = await limit.acquire('P01', () => Promise.resolve());
  const other = await limit.acquire('P02', () => Promise.resolve());
  expect([limit.active('P01'), limit.active('P02')]).toEqual([2, 1]);
  let third: (() => void) | undefined;
  const pending = limit
    .acquire('P01', async () => {
      waits.push('waited');
      await new Promise((r) => setTimeout(r, 5));
    })
    .then((r) => (third = r));
  await new Promise((r) => setTimeout(r, 30));
  expect(third).toBeUndefined();
  expect(waits.length).toBeGreaterThan(0);
  release1();
  release1(); // twice is once
  await pending;
  expect(limit.active('P01')).toBe(2);
  release2();
  third!();
  other();
  expect([limit.active('P01'), limit.active('P02')]).toEqual([0, 0]);
});
