import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from '../../lib/rate-limiter.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

describe.each([
  ['memory', () => new MemoryRateLimiter()],
  ['redis', () => new RedisRateLimiter(redis, `test:${Date.now()}:${Math.random()}:`)],
] as const)('%s rate limiter', (_name, make: () => RateLimiter) => {
  it('counts hits in a window, per key', async () => {
    const limiter = make();
    expect((await limiter.hit('k', 10_000)).count).toBe(1);
    const second = await limiter.hit('k', 10_000);
    expect(second.count).toBe(2);
    expect(second.resetInMs).toBeGreaterThan(0);
    expect(second.resetInMs).toBeLessThanOrEqual(10_000);
    expect((await limiter.hit('other', 10_000)).count).toBe(1);
  });

  it('starts over when the window ends, and on reset', async () => {
    const limiter = make();
    await limiter.hit('w', 150);
    await limiter.hit('w', 150);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await limiter.hit('w', 150)).count).toBe(1);
    await limiter.reset('w');
    expect((await limiter.hit('w', 150)).count).toBe(1);
  });
});

describe('redis rate limiter across instances', () => {
  it('shares one count between two API instances', async () => {
    const prefix = `shared:${Date.now()}:`;
    const other = new Redis(inject('redisUrl'));
    try {
      await new RedisRateLimiter(redis, prefix).hit('login', 10_000);
      expect((await new RedisRateLimiter(other, prefix).hit('login', 10_000)).count).toBe(2);
    } finally {
      other.disconnect();
    }
  });
});
