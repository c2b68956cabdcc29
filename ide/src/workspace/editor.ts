/**
 * The editor area: tabs over one Monaco editor (loaded on the first open), saves with the version the
 * file was read at, and files changed elsewhere: a clean tab takes the new text at once, a dirty one shows
 * the conflict and lets the person keep theirs or take the other.
 */
import type * as MonacoTypes from 'monaco-editor';
import { h, replace } from '../dom';
import { errorMessage } from '../views/forms';
import { filesApi, isConflict, type FileChange } from './files-api';

type Monaco = typeof MonacoTypes;

interface FileTab {
  kind: 'file';
  key: string;
  path: string;
  /** The server's version this tab's saved state matches. */
  version: string;
  model: MonacoTypes.editor.ITextModel;
  /** The model's alternative version id when it last matched the server. */
  savedAltId: number;
  /** The other side of a conflict: the server's text (null: deleted there). */
  conflict: { text: string | null; version: string | null } | null;
  viewState: MonacoTypes.editor.ICodeEditorViewState | null;
  /** Operations on this tab, one at a time (a save and a change notice must not interleave). */
  queue: Promise<unknown>;
}

interface DiffTab {
  kind: 'diff';
  key: string;
  title: string;
  files: Array<{ path: string; before: string | null; after: string | null }>;
  index: number;
  models: MonacoTypes.editor.ITextModel[];
}

type Tab = FileTab | DiffTab;

export interface EditorArea {
  el: HTMLElement;
  open(path: string): Promise<void>;
  openDiff(title: string, files: DiffTab['files']): Promise<void>;
  save(): Promise<void>;
  /** A `file.changed` event of the project. */
  fileChanged(change: FileChange): void;
  activePath(): string | null;
  onActiveChange(listener: (path: string | null) => void): void;
  dispose(): void;
}

let monacoLoading: Promise<Monaco> | null = null;

/** Monaco and its workers, fetched the first time something is opened. */
export function loadMonaco(): Promise<Monaco> {
  monacoLoading ??= import('./monaco').then((module) => module.monaco);
  return monacoLoading;
}

const baseName = (path: string) => path.split('/').pop() || path;

export function editorArea(projectId: string, options: { canWrite: boolean; notify(message: string, kind?: 'error' | 'info'): void }): EditorArea {
  const tabs: Tab[] = [];
  let active: Tab | null = null;
  let monaco: Monaco | null = null;
  let editor: MonacoTypes.editor.IStandaloneCodeEditor | null = null;
  let diffEditor: MonacoTypes.editor.IStandaloneDiffEditor | null = null;
  const activeListeners = new Set<(path: string | null) => void>();

  const tabStrip = h('div', { class: 'editor-tabs', role: 'tablist', testid: 'editor-tabs' });
  const conflictBar = h('div', { class: 'conflict-bar', role: 'alert', testid: 'conflict-bar', hidden: true });
  const diffBar = h('div', { class: 'diff-bar', testid: 'diff-bar', hidden: true });
  const codeHost = h('div', { class: 'monaco-host', testid: 'monaco-host', hidden: true });
  const diffHost = h('div', { class: 'monaco-host', testid: 'diff-host', hidden: true });
  const loading = h('div', { class: 'placeholder', hidden: true }, h('p', { class: 'muted' }, 'Loading the editor…'));
  const empty = h(
    'div',
    { class: 'placeholder', testid: 'editor-empty' },
    h('div', { class: 'placeholder-icon', 'aria-hidden': 'true' }, '{ }'),
    h('p', {}, 'Open a file from the explorer, or ask the agent to build something.'),
    h(
      'ul',
      { class: 'shortcuts muted small' },
      h('li', {}, h('kbd', {}, 'Ctrl P'), ' quick open'),
      h('li', {}, h('kbd', {}, 'Ctrl Shift P'), ' commands'),
      h('li', {}, h('kbd', {}, 'Ctrl S'), ' save'),
      h('li', {}, h('kbd', {}, 'Ctrl `'), ' terminal'),
    ),
  );
  const el = h('div', { class: 'editor-area', testid: 'editor-area' }, tabStrip, conflictBar, diffBar, loading, empty, codeHost, diffHost);

  const isDirty = (tab: FileTab) => tab.model.getAlternativeVersionId() !== tab.savedAltId;

  const ensureMonaco = async (): Promise<Monaco> => {
    if (monaco) return monaco;
    loading.hidden = tabs.length > 0 ? true : false;
    empty.hidden = true;
    try {
      monaco = await loadMonaco();
    } finally {
      loading.hidden = true;
    }
    editor = monaco.editor.create(codeHost, {
      theme: 'vaporform',
      automaticLayout: true,
      fontSize: 13,
      fontFamily: "'JetBrains Mono', 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace",
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      readOnly: !options.canWrite,
      tabSize: 2,
      model: null,
    });
    editor.onDidChangeModelContent(() => renderTabs());
    return monaco;
  };

  const ensureDiffEditor = (m: Monaco) => {
    diffEditor ??= m.editor.createDiffEditor(diffHost, {
      theme: 'vaporform',
      automaticLayout: true,
      readOnly: true,
      fontSize: 13,
      minimap: { enabled: false },
      renderSideBySide: true,
    });
    return diffEditor;
  };

  const renderTabs = () => {
    replace(
      tabStrip,
      ...tabs.map((tab) => {
        const dirty = tab.kind === 'file' && isDirty(tab);
        const title = tab.kind === 'file' ? baseName(tab.path) : tab.title;
        return h(
          'div',
          {
            class: `editor-tab${tab === active ? ' active' : ''}${dirty ? ' dirty' : ''}`,
            role: 'tab',
            title: tab.kind === 'file' ? tab.path : tab.title,
            testid: 'editor-tab',
            'data-path': tab.kind === 'file' ? tab.path : undefined,
            'data-dirty': dirty ? 'true' : 'false',
            'aria-selected': tab === active ? 'true' : 'false',
            onclick: () => activate(tab),
            onauxclick: (event: MouseEvent) => {
              if (event.button === 1) void close(tab);
            },
          },
          h('span', { class: 'editor-tab-name' }, title),
          h(
            'button',
            {
              type: 'button',
              class: 'editor-tab-close',
              'aria-label': `Close ${title}`,
              testid: 'editor-tab-close',
              onclick: (event: MouseEvent) => {
                event.stopPropagation();
                void close(tab);
              },
            },
            dirty ? '●' : '×',
          ),
        );
      }),
    );
  };

  const renderConflict = () => {
    const tab = active;
    if (!tab || tab.kind !== 'file' || !tab.conflict) {
      conflictBar.hidden = true;
      return;
    }
    const deleted = tab.conflict.text === null;
    replace(
      conflictBar,
      h(
        'span',
        {},
        deleted
          ? `${tab.path} was deleted elsewhere while you had unsaved changes.`
          : `${tab.path} changed elsewhere while you had unsaved changes.`,
      ),
      h(
        'span',
        { class: 'conflict-actions' },
        h('button', { type: 'button', class: 'btn btn-small btn-primary', testid: 'conflict-keep-mine', onclick: () => void keepMine(tab) }, 'Keep mine'),
        h(
          'button',
          { type: 'button', class: 'btn btn-small btn-ghost', testid: 'conflict-take-theirs', onclick: () => void takeTheirs(tab) },
          deleted ? 'Close it' : 'Take theirs',
        ),
      ),
    );
    conflictBar.hidden = false;
  };

  const renderDiffBar = (tab: DiffTab) => {
    replace(
      diffBar,
      h('span', { class: 'muted' }, tab.title),
      ...tab.files.map((file, i) =>
        h(
          'button',
          {
            type: 'button',
            class: `chip${i === tab.index ? ' active' : ''}`,
            testid: 'diff-file',
            onclick: () => {
              tab.index = i;
              void showDiff(tab);
            },
          },
          file.path,
        ),
      ),
    );
  };

  const showDiff = async (tab: DiffTab) => {
    const m = await ensureMonaco();
    const diff = ensureDiffEditor(m);
    const file = tab.files[tab.index];
    renderDiffBar(tab);
    if (!file) return;
    for (const model of tab.models) model.dispose();
    const uri = (side: string) => m.Uri.parse(`diff://${tab.key}/${side}/${file.path}`);
    tab.models = [m.editor.createModel(file.before ?? '', undefined, uri('before')), m.editor.createModel(file.after ?? '', undefined, uri('after'))];
    diff.setModel({ original: tab.models[0]!, modified: tab.models[1]! });
  };

  const activate = (tab: Tab | null) => {
    if (active?.kind === 'file' && editor && active.model === editor.getModel()) active.viewState = editor.saveViewState();
    active = tab;
    empty.hidden = tab !== null;
    codeHost.hidden = tab?.kind !== 'file';
    diffHost.hidden = tab?.kind !== 'diff';
    diffBar.hidden = tab?.kind !== 'diff';
    if (tab?.kind === 'file' && editor) {
      editor.setModel(tab.model);
      if (tab.viewState) editor.restoreViewState(tab.viewState);
      editor.focus();
    } else if (tab?.kind === 'diff') {
      void showDiff(tab);
    }
    renderTabs();
    renderConflict();
    for (const listener of activeListeners) listener(tab?.kind === 'file' ? tab.path : null);
  };

  const close = async (tab: Tab) => {
    if (tab.kind === 'file' && isDirty(tab) && !window.confirm(`Close ${baseName(tab.path)} without saving?`)) return;
    const index = tabs.indexOf(tab);
    if (index < 0) return;
    tabs.splice(index, 1);
    if (active === tab) activate(tabs[index] ?? tabs[index - 1] ?? null);
    if (tab.kind === 'file') tab.model.dispose();
    else tab.models.forEach((model) => model.dispose());
    renderTabs();
  };

  const enqueue = <T>(tab: FileTab, work: () => Promise<T>): Promise<T> => {
    const next = tab.queue.then(work, work);
    tab.queue = next.catch(() => {});
    return next;
  };

  /** Puts `text` into a tab's model as the server's state, keeping the cursor and undo history. */
  const adopt = (tab: FileTab, text: string, version: string) => {
    if (tab.model.getValue() !== text) {
      const shown = editor?.getModel() === tab.model ? editor : null;
      const view = shown?.saveViewState() ?? null;
      tab.model.pushEditOperations([], [{ range: tab.model.getFullModelRange(), text }], () => null);
      if (view) shown?.restoreViewState(view);
      // On screen now rather than at the next animation frame: a change made elsewhere shows without delay.
      shown?.render();
    }
    tab.version = version;
    tab.savedAltId = tab.model.getAlternativeVersionId();
    tab.conflict = null;
  };

  const saveTab = (tab: FileTab, force = false) =>
    enqueue(tab, async () => {
      const text = tab.model.getValue();
      const altId = tab.model.getAlternativeVersionId();
      try {
        const written = await filesApi.write(projectId, tab.path, text, force ? {} : { ifMatch: tab.version });
        tab.version = written.version;
        tab.savedAltId = altId;
        tab.conflict = null;
      } catch (err) {
        if (!isConflict(err)) {
          options.notify(`Could not save ${tab.path}: ${errorMessage(err)}`, 'error');
          return;
        }
        const theirs = await filesApi.read(projectId, tab.path).catch(() => null);
        tab.conflict = { text: theirs?.text ?? null, version: theirs?.version ?? null };
        options.notify(`${tab.path} changed on the server since you opened it: choose which version to keep.`, 'error');
      }
      renderTabs();
      renderConflict();
    });

  const keepMine = (tab: FileTab) => saveTab(tab, true);

  const takeTheirs = async (tab: FileTab) => {
    const conflict = tab.conflict;
    if (!conflict) return;
    if (conflict.text === null || conflict.version === null) {
      tab.savedAltId = tab.model.getAlternativeVersionId();
      await close(tab);
      return;
    }
    adopt(tab, conflict.text, conflict.version);
    renderTabs();
    renderConflict();
  };

  /** Takes the file's state from the server; `known` is its new text and version when the event carried them. */
  const refresh = (tab: FileTab, known?: { text: string; version: string }) =>
    enqueue(tab, async () => {
      if (known?.version === tab.version) return; // our own save, announced
      let theirs;
      try {
        theirs = known ?? (await filesApi.read(projectId, tab.path, tab.version));
      } catch {
        theirs = undefined;
      }
      if (theirs === null) return; // still the version we have (our own save, announced)
      if (theirs === undefined) {
        deletedElsewhere(tab);
        return;
      }
      if (!isDirty(tab) || theirs.text === tab.model.getValue()) adopt(tab, theirs.text, theirs.version);
      else tab.conflict = { text: theirs.text, version: theirs.version };
      renderTabs();
      renderConflict();
    });

  const deletedElsewhere = (tab: FileTab) => {
    if (!isDirty(tab)) {
      void close(tab);
      return;
    }
    tab.conflict = { text: null, version: null };
    renderConflict();
  };

  const fileTabAt = (path: string) => tabs.find((tab): tab is FileTab => tab.kind === 'file' && tab.path === path);

  return {
    el,
    async open(path) {
      const existing = fileTabAt(path);
      if (existing) return activate(existing);
      const [m, file] = await Promise.all([ensureMonaco(), filesApi.read(projectId, path)]);
      const again = fileTabAt(path);
      if (again) return activate(again);
      if (!file) return;
      const model = m.editor.createModel(file.text, undefined, m.Uri.parse(`file:///${path.split('/').map(encodeURIComponent).join('/')}`));
      const tab: FileTab = {
        kind: 'file',
        key: `file:${path}`,
        path,
        version: file.version,
        model,
        savedAltId: model.getAlternativeVersionId(),
        conflict: null,
        viewState: null,
        queue: Promise.resolve(),
      };
      tabs.push(tab);
      activate(tab);
    },
    async openDiff(title, files) {
      const tab: DiffTab = { kind: 'diff', key: `diff${Date.now()}`, title, files, index: 0, models: [] };
      await ensureMonaco();
      tabs.push(tab);
      activate(tab);
    },
    async save() {
      if (active?.kind === 'file' && options.canWrite) await saveTab(active);
    },
    fileChanged(change) {
      if (change.kind === 'renamed' && change.from) {
        for (const tab of tabs) {
          if (tab.kind !== 'file') continue;
          if (tab.path === change.from || tab.path.startsWith(change.from + '/')) {
            tab.path = change.path + tab.path.slice(change.from.length);
          }
        }
        renderTabs();
        return;
      }
      for (const tab of tabs) {
        if (tab.kind !== 'file') continue;
        const affected = tab.path === change.path || (change.kind === 'deleted' && tab.path.startsWith(change.path + '/'));
        if (!affected) continue;
        // A delete is checked too: tools often replace a file by deleting and creating it.
        const known = change.kind !== 'deleted' && tab.path === change.path && change.content !== undefined && change.version !== undefined;
        void refresh(tab, known ? { text: change.content!, version: change.version! } : undefined);
      }
    },
    activePath: () => (active?.kind === 'file' ? active.path : null),
    onActiveChange: (listener) => void activeListeners.add(listener),
    dispose() {
      for (const tab of tabs) {
        if (tab.kind === 'file') tab.model.dispose();
        else tab.models.forEach((model) => model.dispose());
      }
      editor?.dispose();
      diffEditor?.dispose();
    },
  };
}
