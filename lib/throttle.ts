/**
 * Lets each key through at most once per interval, remembering only the keys seen in the last two intervals,
 * so that a long-lived process does not keep one entry for every key it ever saw.
 */
export class Throttle {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt = 0;

  constructor(private readonly intervalMs: number) {}

  /** True (and the key recorded) when the key was not let through within the interval. */
  take(key: string, now = Date.now()): boolean {
    if (now - this.rotatedAt >= this.intervalMs) {
      // What `previous` held is older than an interval now: forgetting it lets nothing through too early.
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    const last = this.current.get(key) ?? this.previous.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.current.set(key, now);
    return true;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
