/** Every service that owns tables, in the order their migrations apply (a service after those it references). */
import path from 'node:path';
import { repoRoot } from '../../lib/config.js';
import type { MigrationSource } from '../../lib/migrate.js';

const SERVICES_WITH_TABLES = ['auth', 'projects', 'containers', 'agents', 'realtime', 'secrets'] as const;

export const migrationSources: MigrationSource[] = SERVICES_WITH_TABLES.map((service) => ({
  service,
  dir: path.join(repoRoot, 'services', service, 'migrations'),
}));
