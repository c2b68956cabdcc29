import { describe, expect, it } from 'vitest';
import { Throttle } from '../../lib/throttle.js';

describe('Throttle', () => {
  it('lets a key through once per interval', () => {
    const throttle = new Throttle(1000);
    expect(throttle.take('a', 10_000)).toBe(true);
    expect(throttle.take('a', 10_500)).toBe(false);
    expect(throttle.take('b', 10_500)).toBe(true);
    expect(throttle.take('a', 10_999)).toBe(false);
    expect(throttle.take('a', 11_000)).toBe(true);
  });

  it('remembers only the keys of the last two intervals, however many it saw', () => {
    const throttle = new Throttle(1000);
    for (let i = 0; i < 100_000; i++) throttle.take(`project-${i}`, i);
    // One key a millisecond: at most two intervals' worth are kept.
    expect(throttle.size).toBeLessThanOrEqual(2000);
    expect(throttle.take('project-99999', 99_999)).toBe(false);
  });
});
