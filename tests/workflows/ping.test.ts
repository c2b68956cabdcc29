import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import { temporal as temporalProto } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { TemporalClient } from '../../workflows/client.js';
import { createWorker } from '../../workflows/worker.js';

const temporal = { address: inject('temporalAddress'), namespace: 'default', taskQueue: `test-${randomUUID()}` };
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let client: TemporalClient;

beforeAll(async () => {
  connection = await NativeConnection.connect({ address: temporal.address });
  worker = await createWorker({ connection, temporal, worker: { shutdownGraceTime: '1 second' } });
  running = worker.run();
  client = new TemporalClient(temporal);
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.close();
});

describe('Temporal wiring', () => {
  it('runs a workflow end to end on the real dev server, its activity in the worker', async () => {
    const workflowId = `ping-${randomUUID()}`;
    const result = await client.client.workflow.execute('ping', {
      taskQueue: temporal.taskQueue,
      workflowId,
      args: ['hello'],
    });
    expect(result).toMatch(/^pong: hello \(from .+:\d+\)$/);
    const history = await client.client.workflow.getHandle(workflowId).fetchHistory();
    const completed = (history.events ?? []).filter(
      (event) => event.eventType === temporalProto.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    );
    expect(completed).toHaveLength(1);
  });
});
