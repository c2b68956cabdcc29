/** The projects service: projects, their members and roles, and the access check every project route uses. */
export {
  ProjectsService,
  type Project,
  type Member,
  type ProjectPage,
  type NewProject,
  type ProjectPatch,
  type ProjectDeleteHook,
  type ProjectServices,
  type ProjectServicesHook,
  type UserDirectory,
  type Stack,
  type ProjectStatus,
} from './service.js';
export { projectsRoutes } from './routes.js';
