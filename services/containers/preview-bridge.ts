/**
 * The preview bridge: a small script the preview proxy adds to the app's HTML pages. It tells the IDE framing
 * the preview about the app's failures (uncaught exceptions, rejected promises, console errors, resources and
 * requests that failed) so a person can hand them to the agent. It posts only to the frame's parent, and only
 * what the app itself shows; it reads nothing of ours (there is nothing of ours in that origin).
 */

/** Where the proxy serves the script, in every preview origin. */
export const BRIDGE_PATH = '/__vaporform/bridge.js';
export const BRIDGE_TAG = `<script src="${BRIDGE_PATH}"></script>`;
/** The largest page the proxy reads whole to add the tag; bigger pages pass through untouched. */
export const MAX_INJECTED_PAGE_BYTES = 4 * 1024 * 1024;

export const BRIDGE_SCRIPT = `(() => {
  if (window.parent === window || window.__vaporformBridge) return;
  window.__vaporformBridge = true;
  const target = (location.ancestorOrigins && location.ancestorOrigins[0]) || '*';
  let sent = 0;
  const text = (value) => {
    try { return value instanceof Error ? (value.stack || String(value)) : typeof value === 'string' ? value : JSON.stringify(value); }
    catch { return String(value); }
  };
  const post = (kind, message, extra) => {
    if (sent++ >= 50) return;
    window.parent.postMessage({ type: 'vaporform.preview.error', kind, message: String(message).slice(0, 4000), url: location.href, at: new Date().toISOString(), ...extra }, target);
  };
  window.addEventListener('error', (event) => {
    const el = event.target;
    if (el && el !== window && (el.src || el.href)) return post('failed-load', 'Failed to load ' + (el.src || el.href), { resource: el.src || el.href });
    post('exception', event.error ? text(event.error) : event.message, { source: event.filename, line: event.lineno, column: event.colno });
  }, true);
  window.addEventListener('unhandledrejection', (event) => post('rejection', 'Unhandled rejection: ' + text(event.reason)));
  const consoleError = console.error.bind(console);
  console.error = (...args) => { post('console', args.map(text).join(' ')); consoleError(...args); };
  const realFetch = window.fetch && window.fetch.bind(window);
  if (realFetch) window.fetch = (...args) => realFetch(...args).then((response) => {
    if (response.status >= 500) post('failed-load', response.status + ' ' + response.statusText + ' from ' + response.url, { resource: response.url, status: response.status });
    return response;
  }, (err) => { post('failed-load', 'Request failed: ' + text(err), { resource: String(args[0]) }); throw err; });
  window.parent.postMessage({ type: 'vaporform.preview.loaded', url: location.href }, target);
})();
`;

/**
 * The page with the bridge's tag added early in <head> (or at the top when there is none). Works on bytes
 * (latin1 keeps one character per byte), so a page in any ASCII-compatible encoding stays intact.
 */
export function withBridge(page: Buffer): Buffer {
  const text = page.toString('latin1');
  const head = /<head(\s[^>]*)?>/i.exec(text);
  const doctype = /^\s*<!doctype[^>]*>/i.exec(text);
  const at = head ? head.index + head[0].length : doctype ? doctype[0].length : 0;
  return Buffer.concat([page.subarray(0, at), Buffer.from(BRIDGE_TAG), page.subarray(at)]);
}
