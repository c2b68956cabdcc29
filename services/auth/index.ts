/** The auth service: accounts, sessions, API keys, and authentication of every other service's requests. */
export { AuthService, type AuthServiceDeps, type PublicUser, type Session, type ApiKeyView } from './service.js';
export { authRoutes } from './routes.js';
