/** The realtime service: the WebSocket that carries events and live streams to the IDE. */
export { RealtimeService, type Connection, type ClientMessage, type ServerMessage, type MessageHandler } from './service.js';
export { realtimeRoutes } from './routes.js';
export { EVENT_RETENTION_MS, LoggedEventBus, ProjectEventLog } from './event-log.js';
