import { afterEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  ALL_PROJECTS,
  InProcessEventBus,
  makeEvent,
  RedisEventBus,
  type BusEvent,
  type EventBus,
} from '../../lib/event-bus.js';

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

function collector() {
  const events: BusEvent[] = [];
  return { events, handler: (event: BusEvent) => void events.push(event) };
}

const reported: unknown[] = [];
afterEach(() => void reported.splice(0));
const report = (err: unknown) => void reported.push(err);

async function redisBus(): Promise<RedisEventBus> {
  const bus = new RedisEventBus(inject('redisUrl'), report);
  await bus.ready();
  buses.push(bus);
  return bus;
}

describe.each([
  ['in-process', async () => new InProcessEventBus(report)],
  ['redis', redisBus],
] as const)('%s event bus', (_name, makeBus) => {
  it("delivers a project's events to its subscribers only, and everything to wildcard subscribers", async () => {
    const bus = await makeBus();
    const a = collector();
    const b = collector();
    const all = collector();
    await bus.subscribe('project-a', a.handler);
    await bus.subscribe('project-b', b.handler);
    await bus.subscribe(ALL_PROJECTS, all.handler);
    await bus.publish(makeEvent('project-a', 'file.changed', { path: 'x' }));
    await bus.publish(makeEvent('project-b', 'file.changed', { path: 'y' }));
    await expect.poll(() => all.events.length).toBe(2);
    expect(a.events.map((e) => e.data)).toEqual([{ path: 'x' }]);
    expect(b.events.map((e) => e.data)).toEqual([{ path: 'y' }]);
  });

  it('stops delivering after unsubscribe', async () => {
    const bus = await makeBus();
    const seen = collector();
    const control = collector();
    const stop = await bus.subscribe('p', seen.handler);
    await bus.subscribe('p', control.handler);
    stop();
    await bus.publish(makeEvent('p', 'x', {}));
    await expect.poll(() => control.events.length).toBe(1);
    expect(seen.events).toHaveLength(0);
  });

  it('keeps delivering to others when one handler throws, and reports the failure', async () => {
    const bus = await makeBus();
    const good = collector();
    await bus.subscribe('p', () => {
      throw new Error('bad handler');
    });
    await bus.subscribe('p', good.handler);
    await bus.publish(makeEvent('p', 'x', {}));
    await expect.poll(() => good.events.length).toBe(1);
    expect(reported).toEqual([new Error('bad handler')]);
  });
});

describe('redis event bus across instances', () => {
  it('carries an event published by one API instance to a subscriber of another', async () => {
    const first = await redisBus();
    const second = await redisBus();
    const seen = collector();
    await second.subscribe('shared', seen.handler);
    const event = makeEvent('shared', 'project.updated', { name: 'n' }, { kind: 'user', id: 'u1' });
    await first.publish(event);
    await expect.poll(() => seen.events).toEqual([event]);
  });
});
