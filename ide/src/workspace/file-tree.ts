/**
 * The explorer: the workspace as a tree, kept current by `file.changed` events from any source (the API,
 * the agent, a shell in the sandbox). Create, rename or move (by path, or by dragging onto a folder),
 * delete after a confirmation, upload (files, or a .tar extracted), download (a file, or a folder as a tar).
 */
import { confirmDialog, promptDialog } from '../dialog';
import { h, replace } from '../dom';
import { errorMessage } from '../views/forms';
import { filesApi, type TreeNode } from './files-api';

export interface FileTree {
  el: HTMLElement;
  reload(): Promise<void>;
  /** A change happened somewhere: reload soon (changes come in bursts). */
  changed(): void;
  /** Every file path, for quick open. */
  files(): string[];
  reveal(path: string | null): void;
  newFile(): Promise<void>;
  newFolder(): Promise<void>;
}

interface TreeOptions {
  canWrite: boolean;
  open(path: string): void;
  notify(message: string, kind?: 'error' | 'info'): void;
  /** The tree could not be read (no sandbox yet, say). */
  onUnavailable(message: string | null): void;
}

const RELOAD_DEBOUNCE_MS = 120;
const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

export function fileTree(projectId: string, options: TreeOptions): FileTree {
  let root: TreeNode | null = null;
  const expanded = new Set<string>();
  let selected: string | null = null;
  let selectedType: TreeNode['type'] = 'directory';
  let reloadTimer: number | undefined;
  let loading: Promise<void> | null = null;
  let again = false;

  const list = h('ul', { class: 'tree', role: 'tree', testid: 'file-tree' });
  const uploadInput = h('input', { type: 'file', multiple: true, hidden: true, testid: 'upload-input' });
  const status = h('p', { class: 'muted small tree-status', testid: 'file-tree-status' }, 'Loading files…');

  /** The folder new things go into: the selected folder, or the selected file's. */
  const targetDir = () => (selected === null ? '' : selectedType === 'directory' ? selected : dirOf(selected));

  const run = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
      scheduleReload(0);
    } catch (err) {
      options.notify(`${what}: ${errorMessage(err)}`, 'error');
    }
  };

  const newFile = async () => {
    const dir = targetDir();
    const name = await promptDialog({ title: 'New file', label: 'Path', value: dir ? `${dir}/` : '', confirmLabel: 'Create', hint: 'Folders in the path are created too.' });
    if (!name) return;
    const path = name.replace(/^\/+/, '');
    await run(`Could not create ${path}`, async () => {
      await filesApi.write(projectId, path, '', { createOnly: true });
      for (let d = dirOf(path); d; d = dirOf(d)) expanded.add(d);
      selected = path;
      selectedType = 'file';
      options.open(path);
    });
  };

  const newFolder = async () => {
    const dir = targetDir();
    const name = await promptDialog({ title: 'New folder', label: 'Path', value: dir ? `${dir}/` : '', confirmLabel: 'Create' });
    if (!name) return;
    const path = name.replace(/^\/+|\/+$/g, '');
    await run(`Could not create ${path}`, async () => {
      await filesApi.mkdir(projectId, path);
      for (let d = path; d; d = dirOf(d)) expanded.add(d);
    });
  };

  const rename = async (node: TreeNode) => {
    const to = await promptDialog({ title: `Rename or move ${node.name}`, label: 'New path', value: node.path, confirmLabel: 'Rename' });
    if (!to || to === node.path) return;
    await move(node.path, to.replace(/^\/+|\/+$/g, ''));
  };

  const move = (from: string, to: string) =>
    run(`Could not move ${from}`, async () => {
      await filesApi.move(projectId, from, to);
      if (expanded.delete(from)) expanded.add(to);
      if (selected === from) selected = to;
    });

  const remove = async (node: TreeNode) => {
    const ok = await confirmDialog({
      title: `Delete ${node.name}?`,
      message: node.type === 'directory' ? `The folder ${node.path} and everything in it will be deleted.` : `${node.path} will be deleted.`,
      confirmLabel: 'Delete',
      danger: true,
    });
    if (ok) await run(`Could not delete ${node.path}`, () => filesApi.remove(projectId, node.path));
  };

  const download = async (node: TreeNode) => {
    try {
      const blob = await filesApi.download(projectId, node.path, node.type);
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: node.type === 'directory' ? `${node.name}.tar` : node.name });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      options.notify(`Could not download ${node.path}: ${errorMessage(err)}`, 'error');
    }
  };

  const upload = async (files: FileList | File[], dir: string) => {
    for (const file of Array.from(files)) {
      await run(`Could not upload ${file.name}`, async () => {
        if (/\.tar$/i.test(file.name)) await filesApi.uploadArchive(projectId, dir, file);
        else await filesApi.write(projectId, join(dir, file.name), file);
      });
    }
    if (dir) expanded.add(dir);
    options.notify(`Uploaded ${files.length === 1 ? Array.from(files)[0]!.name : `${files.length} files`}`, 'info');
  };
  uploadInput.addEventListener('change', () => {
    if (uploadInput.files?.length) void upload(uploadInput.files, targetDir()).finally(() => (uploadInput.value = ''));
  });

  const action = (label: string, testid: string, onClick: () => void, icon: string) =>
    h(
      'button',
      {
        type: 'button',
        class: 'icon-button',
        title: label,
        'aria-label': label,
        testid,
        onclick: (event: MouseEvent) => {
          event.stopPropagation();
          onClick();
        },
      },
      icon,
    );

  const row = (node: TreeNode, depth: number): HTMLElement => {
    const isDir = node.type === 'directory';
    const open = expanded.has(node.path);
    const item = h(
      'li',
      {
        class: `tree-row${selected === node.path ? ' selected' : ''}`,
        role: 'treeitem',
        testid: 'tree-row',
        'data-path': node.path,
        'data-type': node.type,
        'aria-expanded': isDir ? String(open) : undefined,
        draggable: options.canWrite ? 'true' : undefined,
        style: `padding-left: ${8 + depth * 14}px`,
        onclick: () => {
          selected = node.path;
          selectedType = node.type;
          if (isDir) {
            if (open) expanded.delete(node.path);
            else expanded.add(node.path);
          } else {
            options.open(node.path);
          }
          render();
        },
        ondragstart: (event: DragEvent) => {
          event.dataTransfer?.setData('application/x-vaporform-path', node.path);
          if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
        },
      },
      h('span', { class: `tree-icon ${isDir ? 'dir' : 'file'}`, 'aria-hidden': 'true' }, isDir ? (open ? '▾' : '▸') : fileIcon(node.name)),
      h('span', { class: 'tree-name', testid: 'tree-name' }, node.name),
      options.canWrite
        ? h(
            'span',
            { class: 'tree-actions' },
            action('Rename or move', 'tree-rename', () => void rename(node), '✎'),
            action('Download', 'tree-download', () => void download(node), '↓'),
            action('Delete', 'tree-delete', () => void remove(node), '✕'),
          )
        : h('span', { class: 'tree-actions' }, action('Download', 'tree-download', () => void download(node), '↓')),
    );
    if (isDir && options.canWrite) dropTarget(item, node.path);
    return item;
  };

  /** Drops onto a folder: a dragged tree entry moves there; files from the desktop upload there. */
  const dropTarget = (target: HTMLElement, dir: string) => {
    target.addEventListener('dragover', (event) => {
      event.preventDefault();
      event.stopPropagation();
      target.classList.add('drop-target');
    });
    target.addEventListener('dragleave', () => target.classList.remove('drop-target'));
    target.addEventListener('drop', (event) => {
      event.preventDefault();
      event.stopPropagation();
      target.classList.remove('drop-target');
      const from = event.dataTransfer?.getData('application/x-vaporform-path');
      if (from) {
        const to = join(dir, from.split('/').pop()!);
        if (to !== from && !dir.startsWith(from + '/') && dir !== from) {
          expanded.add(dir);
          void move(from, to);
        }
      } else if (event.dataTransfer?.files.length) {
        void upload(event.dataTransfer.files, dir);
      }
    });
  };

  const render = () => {
    if (!root) return;
    const rows: HTMLElement[] = [];
    const walk = (nodes: TreeNode[], depth: number) => {
      for (const node of sortNodes(nodes)) {
        rows.push(row(node, depth));
        if (node.type === 'directory' && expanded.has(node.path)) walk(node.children ?? [], depth + 1);
      }
    };
    walk(root.children ?? [], 0);
    if (rows.length === 0) rows.push(h('li', { class: 'tree-empty muted small' }, 'No files yet. Create one, upload some, or ask the agent.'));
    replace(list, ...rows);
  };

  const load = async (): Promise<void> => {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        try {
          root = (await filesApi.tree(projectId)).tree;
          status.hidden = true;
          options.onUnavailable(null);
          render();
        } catch (err) {
          status.hidden = false;
          status.textContent = errorMessage(err);
          options.onUnavailable(errorMessage(err));
        }
      } while (again);
    })().finally(() => (loading = null));
    return loading;
  };

  const scheduleReload = (delay = RELOAD_DEBOUNCE_MS) => {
    window.clearTimeout(reloadTimer);
    reloadTimer = window.setTimeout(() => void load(), delay);
  };

  const toolbar = h(
    'div',
    { class: 'section-header' },
    h('h3', { class: 'section-title' }, 'Explorer'),
    h(
      'div',
      { class: 'toolbar' },
      options.canWrite ? action('New file', 'new-file', () => void newFile(), '+') : null,
      options.canWrite ? action('New folder', 'new-folder', () => void newFolder(), '⊞') : null,
      options.canWrite ? action('Upload files (a .tar is extracted)', 'upload', () => uploadInput.click(), '↑') : null,
      action('Refresh', 'refresh-tree', () => void load(), '↻'),
    ),
  );
  const body = h('div', { class: 'tree-scroll' }, status, list);
  // Dropping on empty space targets the workspace root.
  if (options.canWrite) dropTarget(body, '');
  const el = h('section', { class: 'panel-section explorer', testid: 'explorer' }, toolbar, body, uploadInput);

  return {
    el,
    reload: load,
    changed: () => scheduleReload(),
    files() {
      const out: string[] = [];
      const walk = (nodes: TreeNode[]) => {
        for (const node of nodes) {
          if (node.type === 'directory') walk(node.children ?? []);
          else out.push(node.path);
        }
      };
      walk(root?.children ?? []);
      return out.sort();
    },
    reveal(path) {
      if (path === null || path === selected) return;
      selected = path;
      selectedType = 'file';
      for (let d = dirOf(path); d; d = dirOf(d)) expanded.add(d);
      render();
    },
    newFile,
    newFolder,
  };
}

function sortNodes(nodes: TreeNode[]): TreeNode[] {
  return [...nodes].sort((a, b) => {
    const dirA = a.type === 'directory' ? 0 : 1;
    const dirB = b.type === 'directory' ? 0 : 1;
    return dirA - dirB || a.name.localeCompare(b.name);
  });
}

function fileIcon(name: string): string {
  const ext = name.split('.').pop()?.toLowerCase() ?? '';
  if (['ts', 'tsx', 'js', 'mjs', 'cjs', 'jsx'].includes(ext)) return 'JS';
  if (ext === 'py') return 'PY';
  if (ext === 'go') return 'GO';
  if (['json', 'yaml', 'yml', 'toml'].includes(ext)) return '{}';
  if (['html', 'htm'].includes(ext)) return '<>';
  if (['css', 'scss'].includes(ext)) return '#';
  if (ext === 'md') return 'M';
  return '·';
}
