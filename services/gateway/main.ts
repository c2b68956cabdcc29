/** Entry point of the API process: migrate, build the app, listen, and stop cleanly on SIGINT/SIGTERM. */
import { loadConfig } from '../../lib/config.js';
import { migrate } from '../../lib/migrate.js';
import { installHostGuard } from '../containers/index.js';
import { EVENT_RETENTION_MS } from '../realtime/index.js';
import { buildApp, createServices } from './app.js';
import { createInfrastructure } from './infrastructure.js';
import { migrationSources } from './migrations.js';

/** How often the orphan reaper looks for what deleted projects left behind. */
const REAP_INTERVAL_MS = 10 * 60_000;

async function main(): Promise<void> {
  const config = loadConfig();
  let reportError: (err: unknown) => void = (err) => console.error(err);
  const { infra, close } = await createInfrastructure(config, (err) => reportError(err));
  const applied = await migrate(infra.db, migrationSources);
  const services = createServices(infra, (err) => reportError(err));
  const app = await buildApp(infra, services);
  reportError = (err) => app.log.error({ err }, 'background failure');
  if (applied.length > 0) app.log.info({ applied }, 'migrations applied');

  const guard = installHostGuard();
  if (!guard.installed) app.log.warn({ reason: guard.reason }, 'sandboxes can reach this host: the firewall rule could not be installed');
  // The idle policy: pause idle sandboxes, later stop them. Checked often enough to be timely, not more.
  const sweep = setInterval(
    () => void services.sandboxes.sweepIdle().catch((err: unknown) => reportError(err)),
    Math.min(30_000, Math.max(1000, config.sandbox.pauseAfterMs / 4)),
  );
  sweep.unref();
  // What deleted projects left behind (a request that raced the deletion), and events past their retention:
  // at start-up, then now and then.
  const reap = () => {
    void services.reapSandboxes().then(
      (reaped) => reaped.length > 0 && app.log.info({ projects: reaped }, 'orphaned sandboxes removed'),
      (err: unknown) => reportError(err),
    );
    void services.events.prune(EVENT_RETENTION_MS).catch((err: unknown) => reportError(err));
  };
  reap();
  const reaper = setInterval(reap, REAP_INTERVAL_MS);
  reaper.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    clearInterval(sweep);
    clearInterval(reaper);
    await app.close();
    await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  await app.listen({ host: config.host, port: config.port });
}

main().catch((err: unknown) => {
  console.error('api failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
