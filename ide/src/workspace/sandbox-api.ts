/** The project's sandbox (state, CPU and memory, start/restart), its preview address, and exec. */
import type { PreviewServing } from '../../../lib/api-types';
import { request } from '../api';

export type { PreviewServing };

export type SandboxState = 'absent' | 'created' | 'running' | 'paused' | 'stopped';

export interface SandboxStatus {
  projectId: string;
  state: SandboxState;
  image: string | null;
  startedAt: string | null;
  lastUsedAt: string | null;
  limits: { memoryBytes?: number; cpus?: number; pids?: number } | null;
}

export interface SandboxStats {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
}

export interface Preview {
  url: string;
  origin: string;
  port: number;
}

const base = (projectId: string) => `/projects/${encodeURIComponent(projectId)}`;

export const sandboxApi = {
  status: (projectId: string) => request<SandboxStatus>('GET', `${base(projectId)}/sandbox`),
  start: (projectId: string) => request<SandboxStatus>('POST', `${base(projectId)}/sandbox/start`, { body: {} }),
  restart: (projectId: string) => request<SandboxStatus>('POST', `${base(projectId)}/sandbox/restart`, { body: {} }),
  stop: (projectId: string) => request<SandboxStatus>('POST', `${base(projectId)}/sandbox/stop`, { body: {} }),
  stats: (projectId: string) => request<SandboxStats>('GET', `${base(projectId)}/sandbox/stats`),
  preview: (projectId: string) => request<Preview>('POST', `${base(projectId)}/preview`, { body: {} }),
  previewStatus: (projectId: string) => request<PreviewServing>('GET', `${base(projectId)}/preview/status`),
};

export const irApi = {
  apply: (projectId: string, changes: Record<string, string>) =>
    request<{ valid: boolean }>('POST', `${base(projectId)}/ir/changes`, { body: { changes } }),
  generate: (projectId: string) =>
    request<{ written: string[]; warnings: string[] }>('POST', `${base(projectId)}/generate`, { body: {} }),
};
