/**
 * The bottom panel the terminal lives in (ide/src/views/terminal.ts, built apart). The module is looked up
 * at build time and loaded the first time the panel opens; until it exists the panel says so.
 */
import { h, replace } from '../dom';

type TerminalModule = Record<string, unknown>;
type Mount = (el: HTMLElement, projectId: string) => (() => void) | { dispose?(): void; close?(): void } | void;

// Empty when the terminal view is not in this build.
const modules = import.meta.glob<TerminalModule>('../views/terminal.ts');

export interface TerminalSlot {
  el: HTMLElement;
  /** The panel became visible: mounts the terminal the first time. */
  shown(): void;
  dispose(): void;
}

export function terminalSlot(projectId: string): TerminalSlot {
  const mountPoint = h('div', { class: 'terminal-mount', testid: 'terminal-mount' });
  const el = h('section', { class: 'terminal-panel', testid: 'terminal-panel', hidden: true, 'aria-label': 'Terminal' }, mountPoint);
  let mounted = false;
  let cleanup: () => void = () => {};

  return {
    el,
    shown() {
      if (mounted) return;
      mounted = true;
      const load = Object.values(modules)[0];
      if (!load) {
        replace(mountPoint, h('p', { class: 'muted small terminal-missing' }, 'The terminal is not part of this build yet.'));
        return;
      }
      void load().then((module) => {
        const mount = module.mountTerminalPanel as Mount | undefined;
        if (!mount) return;
        const result = mount(mountPoint, projectId);
        if (typeof result === 'function') cleanup = result;
        else if (result) cleanup = () => (result.dispose ?? result.close)?.call(result);
      });
    },
    dispose: () => cleanup(),
  };
}
