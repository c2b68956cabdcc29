/**
 * A project's own PostgreSQL (its `services.postgres` setting): a container `vf-pg-<project>` on the project's network
 * only, its data in the volume `vf-pgdata-<project>`. The container's life is ProjectServiceContainer's.
 */
import {
  POSTGRES_DATABASE,
  POSTGRES_HOST,
  POSTGRES_PASSWORD_FILE,
  POSTGRES_PORT,
  POSTGRES_UID,
  POSTGRES_USER,
  POSTGRES_VOLUME_DIR,
  postgresCreateOptions,
  sandboxNames,
} from './sandbox-spec.js';
import { ProjectServiceContainer, type ProjectServiceDeps } from './project-service.js';

export class ProjectPostgres extends ProjectServiceContainer {
  constructor(deps: ProjectServiceDeps) {
    super(deps, {
      title: 'PostgreSQL',
      passwordContext: 'vaporform-postgres',
      uid: POSTGRES_UID,
      passwordDir: POSTGRES_VOLUME_DIR,
      // The entrypoint sets the app role's password from it (scram-sha-256).
      passwordFile: POSTGRES_PASSWORD_FILE,
      // PostgreSQL's fast shutdown (the image's stop signal) flushes its data.
      stopSeconds: 10,
      names: (projectId) => ({ container: sandboxNames(projectId).postgresContainer, volume: sandboxNames(projectId).postgresVolume }),
      createOptions: postgresCreateOptions,
      // Over TCP: the entrypoint's set-up (single-user mode, no listener) is done by then.
      readyCommand: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(POSTGRES_PORT)],
      // The app's database in pg_dump's custom format (compressed; pg_restore reads it), as the superuser over the
      // local socket (peer authentication: no password).
      dumpCommand: ['pg_dump', '--host=/run/postgresql', '--username=postgres', '--format=custom', `--dbname=${POSTGRES_DATABASE}`],
      dumpSuffix: 'postgres.dump',
    });
  }

  /** DATABASE_URL and PG*: what the app connects with. */
  env(projectId: string): Record<string, string> {
    const password = this.password(projectId);
    return {
      DATABASE_URL: `postgres://${POSTGRES_USER}:${password}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DATABASE}`,
      PGHOST: POSTGRES_HOST,
      PGPORT: String(POSTGRES_PORT),
      PGUSER: POSTGRES_USER,
      PGPASSWORD: password,
      PGDATABASE: POSTGRES_DATABASE,
    };
  }
}
