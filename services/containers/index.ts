/** The containers service: the Docker engine and, later, each project's sandbox. */
export { createDockerClient, pingDocker, type Docker } from './docker.js';
