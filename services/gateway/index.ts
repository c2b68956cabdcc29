/** The composition root's public surface: what the worker process builds the same services with. */
export { buildApp, createRunEngine, createServices, type Infrastructure, type Services } from './app.js';
export { createInfrastructure } from './infrastructure.js';
