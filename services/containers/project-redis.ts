/**
 * A project's own Redis (its `services.redis` setting): a container `vf-redis-<project>` on the project's network
 * only, its data (append-only file and RDB snapshots) in the volume `vf-redisdata-<project>`. The container's life is
 * ProjectServiceContainer's.
 */
import {
  REDIS_CONFIG_FILE,
  REDIS_HOST,
  REDIS_PASSWORD_FILE,
  REDIS_PORT,
  REDIS_UID,
  REDIS_VOLUME_DIR,
  redisCreateOptions,
  sandboxNames,
} from './sandbox-spec.js';
import { ProjectServiceContainer, type ProjectServiceDeps } from './project-service.js';

/**
 * redis-cli inside the container, authenticated with the password from the configuration the entrypoint wrote (the
 * redis user's, 0600, on a tmpfs): never on a command line or in the exec's configuration, which Docker keeps.
 */
const AUTHENTICATED = `export REDISCLI_AUTH="$(sed -n 's/^requirepass //p' ${REDIS_CONFIG_FILE})"`;
const CLI = `redis-cli -h 127.0.0.1 -p ${REDIS_PORT}`;

export class ProjectRedis extends ProjectServiceContainer {
  constructor(deps: ProjectServiceDeps) {
    super(deps, {
      title: 'Redis',
      passwordContext: 'vaporform-redis',
      uid: REDIS_UID,
      passwordDir: REDIS_VOLUME_DIR,
      // The entrypoint writes it into the configuration as `requirepass`.
      passwordFile: REDIS_PASSWORD_FILE,
      // SIGTERM: Redis saves and flushes its append-only file, then exits.
      stopSeconds: 10,
      names: (projectId) => ({ container: sandboxNames(projectId).redisContainer, volume: sandboxNames(projectId).redisVolume }),
      createOptions: redisCreateOptions,
      // PONG once it serves; while it loads its data it answers LOADING.
      readyCommand: ['sh', '-c', `${AUTHENTICATED}; [ "$(${CLI} PING)" = PONG ]`],
      // SAVE (synchronous, no fork) writes dump.rdb in the data volume; that file is the copy.
      dumpCommand: ['sh', '-c', `${AUTHENTICATED}; [ "$(${CLI} SAVE)" = OK ] && cat ${REDIS_VOLUME_DIR}/dump.rdb`],
      dumpSuffix: 'redis.rdb',
    });
  }

  /** REDIS_URL and REDIS_HOST/_PORT/_PASSWORD: what the app connects with. */
  env(projectId: string): Record<string, string> {
    const password = this.password(projectId);
    return {
      REDIS_URL: `redis://:${password}@${REDIS_HOST}:${REDIS_PORT}/0`,
      REDIS_HOST,
      REDIS_PORT: String(REDIS_PORT),
      REDIS_PASSWORD: password,
    };
  }
}
