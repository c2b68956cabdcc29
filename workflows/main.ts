/**
 * Entry point of the worker process (`npm start` runs it beside the API): the same services as the API, built
 * from the same configuration, drive the agent runs' activities.
 */
import { loadConfig } from '../lib/config.js';
import { createInfrastructure, createRunEngine, createServices } from '../services/gateway/index.js';
import { connectWorker, createWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const onError = (err: unknown) => console.error('worker background failure:', err instanceof Error ? err.message : err);
  const { infra, close } = await createInfrastructure(config, onError);
  const services = createServices(infra, onError);
  const engine = createRunEngine(infra, services, onError);
  const connection = await connectWorker(config.temporal);
  const worker = await createWorker({ connection, temporal: config.temporal, deps: { engine } });
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
  await connection.close();
  await services.workers.close();
  services.containers.close();
  await close();
}

main().catch((err: unknown) => {
  console.error('worker failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
