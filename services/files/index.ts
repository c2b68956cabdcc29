/** The files service: a project's workspace files, path-safe, versioned, with change events. */
export { FilesService, DEFAULT_FILES_LIMITS, type FilesServiceDeps, type FilesLimits, type FileChangeKind } from './service.js';
export { filesRoutes } from './routes.js';
