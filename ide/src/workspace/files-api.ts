/** The files service (`/projects/:id/files`): the workspace tree, contents with versions, changes. */
import { ApiError, request, requestRaw } from '../api';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface TreeNode {
  name: string;
  path: string;
  type: EntryType;
  size?: number;
  modifiedAt?: string;
  target?: string;
  children?: TreeNode[];
}

/** The data of a `file.changed` event. */
export type { FileChange } from '../../../lib/api-types';

export interface FileText {
  text: string;
  version: string;
}

const base = (projectId: string) => `/projects/${encodeURIComponent(projectId)}/files`;
const q = (path: string) => encodeURIComponent(path);

function versionOf(response: Response): string {
  return (response.headers.get('etag') ?? '').replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export const filesApi = {
  tree: (projectId: string) => request<{ tree: TreeNode; truncated: boolean }>('GET', `${base(projectId)}/tree`),

  /** The file's text and version; null when it is still `knownVersion`. */
  async read(projectId: string, path: string, knownVersion?: string): Promise<FileText | null> {
    const headers: Record<string, string> = knownVersion ? { 'if-none-match': `"${knownVersion}"` } : {};
    const response = await requestRaw('GET', `${base(projectId)}/content?path=${q(path)}`, { headers });
    if (response.status === 304) return null;
    return { text: await response.text(), version: versionOf(response) };
  },

  /**
   * Writes a file. With `ifMatch`, only over that version (else ApiError 409 VERSION_MISMATCH); with
   * `createOnly`, only where nothing is yet.
   */
  async write(
    projectId: string,
    path: string,
    body: string | Blob,
    conditions: { ifMatch?: string; createOnly?: boolean } = {},
  ): Promise<{ path: string; version: string; created: boolean }> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (conditions.ifMatch) headers['if-match'] = `"${conditions.ifMatch}"`;
    if (conditions.createOnly) headers['if-none-match'] = '*';
    const response = await requestRaw('PUT', `${base(projectId)}/content?path=${q(path)}`, { body, headers });
    return (await response.json()) as { path: string; version: string; created: boolean };
  },

  mkdir: (projectId: string, path: string) =>
    request<{ path: string; created: boolean }>('POST', `${base(projectId)}/mkdir`, { body: { path } }),

  move: (projectId: string, from: string, to: string) =>
    request<{ from: string; to: string }>('POST', `${base(projectId)}/move`, { body: { from, to } }),

  remove: (projectId: string, path: string) =>
    request<void>('DELETE', `${base(projectId)}?path=${q(path)}&recursive=true`),

  /** Extracts a tar into a directory, all or nothing. */
  async uploadArchive(projectId: string, dir: string, archive: Blob): Promise<{ files: number }> {
    const response = await requestRaw('PUT', `${base(projectId)}/archive?path=${q(dir)}`, {
      body: archive,
      headers: { 'content-type': 'application/x-tar' },
    });
    return (await response.json()) as { files: number };
  },

  /** A file's bytes, or a directory as a tar. */
  async download(projectId: string, path: string, type: EntryType): Promise<Blob> {
    const url = type === 'directory' ? `${base(projectId)}/archive?path=${q(path)}` : `${base(projectId)}/content?path=${q(path)}`;
    return (await requestRaw('GET', url)).blob();
  },
};

export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && (err.code === 'VERSION_MISMATCH' || err.status === 412);
}
