/**
 * The agent chat: the project's runs, one shown at a time as a transcript built from its events (streamed
 * text, a card per tool call with its diff or command output, approvals, steps with their cost and a way
 * back to them). Events come from the runs API first, then live over the socket from the last seq seen,
 * so a reconnect neither loses nor repeats anything.
 */
import { h, replace } from '../dom';
import { clockTime } from '../format';
import { liveSocket } from '../realtime';
import { confirmDialog } from '../dialog';
import { errorMessage } from '../views/forms';
import { ApiError } from '../api';
import { ACTIVE_STATUSES, runsApi, type Run, type RunEvent, type RunStatus, type ToolDisplay } from './runs-api';
import { lineDiff } from './line-diff';

export interface ChatPanel {
  el: HTMLElement;
  /** `run.created` / `run.updated` from the project's channel. */
  runChanged(run: Run): void;
  /** Sends a message to the agent (the current run, or a new one). */
  send(text: string): Promise<void>;
  focus(): void;
  dispose(): void;
}

interface ChatOptions {
  canWrite: boolean;
  openDiff(title: string, files: Array<{ path: string; before: string | null; after: string | null }>): void;
  openFile(path: string): void;
  notify(message: string, kind?: 'error' | 'info'): void;
}

const STATUS_LABELS: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Working',
  waiting_approval: 'Needs your approval',
  needs_input: 'Needs your input',
  completed: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const compact = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n));
const money = (usd: number) => (usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`);

function summarizeInput(name: string, input: unknown): string {
  const value = (input ?? {}) as Record<string, unknown>;
  for (const key of ['path', 'command', 'query', 'pattern', 'generator', 'processId']) {
    if (typeof value[key] === 'string') return String(value[key]);
  }
  const text = JSON.stringify(input);
  return text && text !== '{}' ? (text.length > 120 ? text.slice(0, 117) + '…' : text) : name;
}

export function chatPanel(projectId: string, options: ChatOptions): ChatPanel {
  let runs: Run[] = [];
  let current: Run | null = null;
  let stopEvents = () => {};
  let lastSeq = 0;
  let shownGeneration = 0;
  let disposed = false;

  // The transcript's pieces, by step and call, so streamed events land where they belong.
  const stepText = new Map<number, HTMLElement>();
  const stepBox = new Map<number, HTMLElement>();
  const cards = new Map<string, { el: HTMLElement; body: HTMLElement; state: HTMLElement; actions: HTMLElement; name: string; input: unknown }>();

  const runPicker = h('select', { class: 'run-picker', testid: 'run-picker', 'aria-label': 'Agent run' });
  const statusBadge = h('span', { class: 'run-status', testid: 'run-status', hidden: true });
  const usage = h('span', { class: 'run-usage muted small', testid: 'run-usage' });
  const cancelButton = h('button', { type: 'button', class: 'btn btn-small btn-ghost', testid: 'run-cancel', hidden: true, onclick: () => void cancel() }, 'Stop');
  const callout = h('div', { class: 'run-callout', testid: 'run-callout', hidden: true });
  const transcript = h('div', { class: 'transcript', testid: 'chat-transcript', 'aria-live': 'polite' });
  const input = h('textarea', {
    class: 'composer-input',
    rows: 3,
    testid: 'chat-input',
    placeholder: options.canWrite ? 'Describe what to build or change… (Enter to send, Shift+Enter for a new line)' : 'You can read this project; only writers talk to its agent.',
    disabled: !options.canWrite,
  });
  const sendButton = h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'chat-send', disabled: !options.canWrite }, 'Send');
  const composer = h(
    'form',
    { class: 'composer' },
    input,
    h(
      'div',
      { class: 'composer-actions' },
      h('button', { type: 'button', class: 'btn btn-ghost btn-small', testid: 'chat-new-run', disabled: !options.canWrite, onclick: () => newRun() }, 'New conversation'),
      sendButton,
    ),
  );
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text) void send(text);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  runPicker.addEventListener('change', () => {
    const run = runs.find((r) => r.id === runPicker.value);
    if (run) void show(run);
  });

  const scrollDown = () => {
    const nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 120;
    if (nearBottom) requestAnimationFrame(() => (transcript.scrollTop = transcript.scrollHeight));
  };

  const renderPicker = () => {
    replace(
      runPicker,
      ...(runs.length === 0 ? [h('option', { value: '' }, 'No conversations yet')] : []),
      ...runs.map((run) =>
        h('option', { value: run.id, selected: run.id === current?.id }, `${clockTime(run.createdAt)} · ${run.goal.slice(0, 48) || 'Run'}`),
      ),
    );
    runPicker.disabled = runs.length === 0;
  };

  const renderHeader = () => {
    if (!current) {
      statusBadge.hidden = true;
      usage.textContent = '';
      cancelButton.hidden = true;
      callout.hidden = true;
      return;
    }
    statusBadge.hidden = false;
    statusBadge.textContent = STATUS_LABELS[current.status];
    statusBadge.dataset.status = current.status;
    const u = current.usage;
    usage.textContent = `${current.steps}/${current.maxSteps} steps · ${compact(u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens)} in · ${compact(u.outputTokens)} out · ${money(current.costUsd)}`;
    usage.title = `Input ${u.inputTokens}, cache read ${u.cacheReadTokens}, cache write ${u.cacheWriteTokens}, output ${u.outputTokens} tokens; ${current.provider} ${current.model}`;
    cancelButton.hidden = !options.canWrite || !ACTIVE_STATUSES.has(current.status);
    const reason = current.reason;
    if (current.status === 'needs_input' || current.status === 'failed' || (current.status === 'waiting_approval' && reason)) {
      callout.hidden = false;
      callout.dataset.status = current.status;
      replace(
        callout,
        h('strong', {}, current.status === 'needs_input' ? 'The agent needs your input' : current.status === 'failed' ? 'The run failed' : 'Waiting for your approval'),
        reason ? h('p', { testid: 'run-reason' }, reason) : null,
      );
    } else {
      callout.hidden = true;
    }
    input.placeholder = current.status === 'needs_input' ? 'Answer the agent…' : ACTIVE_STATUSES.has(current.status) ? 'Add a note for the agent…' : 'Ask for a change…';
    // Approval buttons follow the run's pending call.
    for (const [callId, card] of cards) {
      const pending = current.status === 'waiting_approval' && current.pendingApproval?.callId === callId;
      card.actions.hidden = !pending || !options.canWrite;
    }
  };

  const emptyState = () =>
    replace(
      transcript,
      h(
        'div',
        { class: 'chat-empty', testid: 'chat-empty' },
        h('div', { class: 'chat-empty-mark', 'aria-hidden': 'true' }, '✦'),
        h('h3', {}, 'What should we build?'),
        h('p', { class: 'muted' }, 'Describe an app or a change. The agent plans it, edits files in the sandbox and runs it; you watch every step here and can stop or undo it.'),
      ),
    );

  const ensureStep = (step: number): HTMLElement => {
    let box = stepBox.get(step);
    if (!box) {
      box = h('div', { class: 'step', testid: 'chat-step', 'data-step': step });
      stepBox.set(step, box);
      transcript.append(box);
    }
    return box;
  };

  const assistantText = (step: number): HTMLElement => {
    let el = stepText.get(step);
    if (!el) {
      el = h('div', { class: 'bubble assistant', testid: 'assistant-message', 'data-step': step });
      stepText.set(step, el);
      ensureStep(step).append(el);
    }
    return el;
  };

  const displayBody = (display: ToolDisplay | undefined, content: string, isError: boolean): HTMLElement => {
    if (!display) return h('pre', { class: `tool-output${isError ? ' error' : ''}` }, content.slice(0, 4000));
    switch (display.kind) {
      case 'diff':
        return h(
          'div',
          { class: 'tool-diff' },
          h(
            'div',
            { class: 'tool-diff-head' },
            h('button', { type: 'button', class: 'link-button', testid: 'tool-open-file', onclick: () => options.openFile(display.path) }, display.path),
            h(
              'button',
              { type: 'button', class: 'btn btn-ghost btn-small', testid: 'tool-open-diff', onclick: () => options.openDiff(`Change to ${display.path}`, [display]) },
              'Open diff',
            ),
          ),
          diffView(display.before, display.after),
        );
      case 'command':
        return h(
          'div',
          { class: 'tool-command' },
          h(
            'div',
            { class: 'tool-command-head' },
            h('code', {}, '$ ', display.command),
            h('span', { class: `exit ${display.exitCode === 0 ? 'ok' : display.exitCode === null ? 'running' : 'bad'}` }, display.exitCode === null ? 'running' : `exit ${display.exitCode}`),
          ),
          display.output ? h('pre', { class: 'tool-output' }, display.output.slice(-6000)) : null,
          display.ports?.length ? h('p', { class: 'small muted' }, `listening on ${display.ports.join(', ')}`) : null,
        );
      case 'ir':
        return h('p', { class: 'small' }, display.summary, display.diagnostics ? h('span', { class: 'muted' }, ` · ${display.diagnostics} diagnostics`) : null);
      case 'files':
        return h('ul', { class: 'tool-files' }, ...display.paths.slice(0, 50).map((path) => h('li', {}, h('button', { type: 'button', class: 'link-button', onclick: () => options.openFile(path) }, path))));
      case 'text':
        return h('pre', { class: 'tool-output' }, display.text.slice(0, 4000));
    }
  };

  const card = (step: number, callId: string, name: string, toolInput: unknown) => {
    const existing = cards.get(callId);
    if (existing) return existing;
    const state = h('span', { class: 'tool-state', 'data-state': 'running' }, 'running');
    const body = h('div', { class: 'tool-body' });
    const actions = h(
      'div',
      { class: 'tool-approval', testid: 'tool-approval', hidden: true },
      h('button', { type: 'button', class: 'btn btn-small btn-primary', testid: 'tool-approve', onclick: () => void act('approve') }, 'Approve'),
      h('button', { type: 'button', class: 'btn btn-small btn-ghost', testid: 'tool-deny', onclick: () => void act('deny') }, 'Deny'),
    );
    const el = h(
      'div',
      { class: 'tool-card', testid: 'tool-card', 'data-tool': name, 'data-call-id': callId },
      h('div', { class: 'tool-head' }, h('span', { class: 'tool-name' }, name), h('span', { class: 'tool-arg', title: JSON.stringify(toolInput) }, summarizeInput(name, toolInput)), state),
      actions,
      body,
    );
    const entry = { el, body, state, actions, name, input: toolInput };
    cards.set(callId, entry);
    ensureStep(step).append(el);
    return entry;
  };

  const stepFooter = (step: number, data: Extract<RunEvent, { type: 'step.completed' }>['data']) => {
    const run = current;
    ensureStep(step).append(
      h(
        'div',
        { class: 'step-footer small muted', testid: 'step-footer' },
        h('span', {}, `Step ${step} · ${compact(data.usage.inputTokens)} in · ${compact(data.usage.outputTokens)} out · ${money(data.costUsd)}`),
        data.changedPaths.length
          ? h(
              'span',
              { class: 'step-actions' },
              h('button', { type: 'button', class: 'link-button', testid: 'step-diff', onclick: () => run && void showStepDiff(run, step) }, `${data.changedPaths.length} file${data.changedPaths.length === 1 ? '' : 's'} changed`),
              options.canWrite ? h('button', { type: 'button', class: 'link-button', testid: 'step-revert', onclick: () => run && void revert(run, step) }, 'Revert to here') : null,
            )
          : null,
      ),
    );
  };

  const note = (text: string, kind = 'note') => transcript.append(h('div', { class: `chat-note ${kind}`, testid: 'chat-note' }, text));

  const apply = (event: RunEvent) => {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    transcript.querySelector('[data-testid="chat-empty"]')?.remove();
    switch (event.type) {
      case 'message.user':
        transcript.append(h('div', { class: 'bubble user', testid: 'user-message' }, event.data.text));
        break;
      case 'step.started':
        ensureStep(event.data.step);
        break;
      case 'text.delta':
        assistantText(event.data.step).append(event.data.text);
        break;
      case 'step.retry':
        stepText.get(event.data.step)?.replaceChildren();
        break;
      case 'message.assistant': {
        const el = assistantText(event.data.step);
        el.textContent = event.data.text;
        if (!event.data.text) el.remove();
        break;
      }
      case 'tool.call':
        card(event.data.step, event.data.callId, event.data.name, event.data.input);
        break;
      case 'tool.approval_requested': {
        const entry = card(event.data.step, event.data.callId, event.data.name, event.data.input);
        entry.state.textContent = 'needs approval';
        entry.state.dataset.state = 'approval';
        entry.body.prepend(h('p', { class: 'small approval-reason' }, event.data.reason));
        break;
      }
      case 'tool.approval_resolved': {
        const entry = cards.get(event.data.callId);
        if (entry) {
          entry.actions.hidden = true;
          entry.state.textContent = event.data.approved ? 'approved' : 'denied';
          entry.state.dataset.state = event.data.approved ? 'running' : 'error';
        }
        break;
      }
      case 'tool.result': {
        const entry = card(event.data.step, event.data.callId, event.data.name, undefined);
        entry.state.textContent = event.data.isError ? 'error' : 'done';
        entry.state.dataset.state = event.data.isError ? 'error' : 'done';
        entry.body.append(displayBody(event.data.display, event.data.content, event.data.isError));
        break;
      }
      case 'step.completed':
        stepFooter(event.data.step, event.data);
        break;
      case 'run.nudge':
        note(event.data.reason, 'nudge');
        break;
      case 'run.reverted':
        note(`Files reverted to how they were after step ${event.data.step} (${event.data.paths.length} changed).`);
        break;
      case 'run.status':
        if (current) {
          current = { ...current, status: event.data.status, reason: event.data.reason ?? current.reason };
          renderHeader();
        }
        break;
    }
    scrollDown();
  };

  const show = async (run: Run | null) => {
    stopEvents();
    stopEvents = () => {};
    current = run;
    lastSeq = 0;
    stepText.clear();
    stepBox.clear();
    cards.clear();
    renderPicker();
    renderHeader();
    if (!run) {
      shownGeneration++;
      return emptyState();
    }
    replace(transcript, h('p', { class: 'muted small chat-loading', testid: 'chat-loading' }, 'Loading the conversation…'));
    // The run object is replaced as updates arrive: whether this run is still the one shown goes by a counter.
    const generation = ++shownGeneration;
    const stale = () => generation !== shownGeneration || disposed;
    try {
      const { events } = await runsApi.events(projectId, run.id, 0);
      if (stale()) return;
      replace(transcript);
      for (const event of events) apply(event);
    } catch (err) {
      if (!stale()) {
        replace(transcript);
        note(`Could not load this conversation: ${errorMessage(err)}`, 'error');
      }
    }
    if (stale()) return;
    renderHeader();
    transcript.scrollTop = transcript.scrollHeight;
    stopEvents = liveSocket().subscribeRun(projectId, run.id, lastSeq, apply, (message) => note(message, 'error'));
  };

  const upsert = (run: Run) => {
    const index = runs.findIndex((r) => r.id === run.id);
    if (index >= 0) runs[index] = run;
    else runs.unshift(run);
    runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  };

  const send = async (text: string) => {
    if (!options.canWrite) return;
    sendButton.disabled = true;
    try {
      const run = current;
      let next: Run | null = null;
      // Every run but a cancelled one takes more messages (a finished one starts again).
      if (run && run.status !== 'cancelled') {
        try {
          next = await runsApi.send(projectId, run.id, text);
        } catch (err) {
          // A finished run may not take more messages: the conversation goes on in a new run.
          if (!(err instanceof ApiError) || err.status !== 409) throw err;
        }
      }
      input.value = '';
      if (next) {
        current = next;
        upsert(next);
        renderPicker();
        renderHeader();
      } else {
        const created = await runsApi.start(projectId, text);
        upsert(created);
        await show(created);
      }
    } catch (err) {
      options.notify(`Could not send: ${errorMessage(err)}`, 'error');
    } finally {
      sendButton.disabled = !options.canWrite;
    }
  };

  const newRun = () => {
    void show(null);
    input.focus();
  };

  const act = async (what: 'approve' | 'deny') => {
    if (!current) return;
    try {
      const run = what === 'approve' ? await runsApi.approve(projectId, current.id) : await runsApi.deny(projectId, current.id);
      current = run;
      upsert(run);
      renderHeader();
    } catch (err) {
      options.notify(`Could not ${what}: ${errorMessage(err)}`, 'error');
    }
  };

  const cancel = async () => {
    if (!current) return;
    try {
      current = await runsApi.cancel(projectId, current.id);
      upsert(current);
      renderHeader();
    } catch (err) {
      options.notify(`Could not stop the run: ${errorMessage(err)}`, 'error');
    }
  };

  const revert = async (run: Run, step: number) => {
    const ok = await confirmDialog({
      title: `Revert to step ${step}?`,
      message: 'The files the agent changed go back to how they were right after this step. Later changes to those files are lost.',
      confirmLabel: 'Revert',
      danger: true,
    });
    if (!ok) return;
    try {
      await runsApi.revert(projectId, run.id, step);
      options.notify(`The files are back as they were after step ${step}.`, 'info');
    } catch (err) {
      options.notify(`Could not revert: ${errorMessage(err)}`, 'error');
    }
  };

  const showStepDiff = async (run: Run, step: number) => {
    try {
      const diff = await runsApi.diff(projectId, run.id, step);
      options.openDiff(`Step ${step}`, diff.files);
    } catch (err) {
      options.notify(`Could not load the step's changes: ${errorMessage(err)}`, 'error');
    }
  };

  const el = h(
    'section',
    { class: 'chat', testid: 'chat-panel' },
    h('div', { class: 'chat-header' }, runPicker, statusBadge, cancelButton),
    usage,
    callout,
    transcript,
    composer,
  );

  emptyState();
  void (async () => {
    try {
      runs = (await runsApi.list(projectId)).runs;
    } catch (err) {
      // Until the runs API is deployed, the panel stays usable for starting one.
      if (!(err instanceof ApiError && err.status === 404)) note(`Could not load conversations: ${errorMessage(err)}`, 'error');
      runs = [];
    }
    if (disposed) return;
    renderPicker();
    if (runs[0] && !current) await show(runs[0]);
  })();

  return {
    el,
    runChanged(run) {
      upsert(run);
      if (current?.id === run.id) {
        current = run;
        renderHeader();
      } else if (!current && ACTIVE_STATUSES.has(run.status)) {
        // A run someone else (or the wizard) started shows up by itself.
        void show(run);
        return;
      }
      renderPicker();
    },
    send,
    focus: () => input.focus(),
    dispose() {
      disposed = true;
      stopEvents();
    },
  };
}

/** A unified line diff of a file change, for a tool card (long files show their new text only). */
function diffView(before: string | null, after: string | null): HTMLElement {
  const lines = lineDiff(before ?? '', after ?? '');
  const shown = lines.slice(0, 200);
  return h(
    'pre',
    { class: 'diff', testid: 'tool-diff' },
    ...shown.map((line) => h('span', { class: `diff-line ${line.kind}` }, (line.kind === 'add' ? '+ ' : line.kind === 'del' ? '- ' : '  ') + line.text + '\n')),
    lines.length > shown.length ? h('span', { class: 'diff-line muted' }, `… ${lines.length - shown.length} more lines\n`) : null,
  );
}
