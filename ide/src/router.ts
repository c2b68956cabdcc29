/** Hash routes: the API serves one index.html, so the client decides what `#/...` shows. */

export type Route =
  | { name: 'login' }
  | { name: 'projects' }
  | { name: 'project'; id: string }
  | { name: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/projects') return { name: 'projects' };
  if (path === '/login') return { name: 'login' };
  const project = /^\/projects\/([0-9a-fA-F-]{36})$/.exec(path);
  if (project) return { name: 'project', id: project[1]!.toLowerCase() };
  return { name: 'not-found', path };
}

export function currentRoute(): Route {
  return parseRoute(location.hash);
}

export function navigate(path: string): void {
  if (location.hash === '#' + path) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = path;
}

export function projectPath(id: string): string {
  return `/projects/${id}`;
}

export function onRouteChange(listener: (route: Route) => void): void {
  window.addEventListener('hashchange', () => listener(currentRoute()));
}
