/** Boot: pick the screen for the route and the session, and switch when either changes. */
import './styles.css';
import { h, replace } from './dom';
import { currentRoute, navigate, onRouteChange, type Route } from './router';
import { auth } from './api';
import { getSession, mayHaveSession, onOtherTab, onSessionChange } from './session';
import { mountLogin } from './views/login';
import { mountProject } from './views/project';
import { mountProjects } from './views/projects';
import { appShell } from './views/shell';

const root = document.querySelector<HTMLDivElement>('#app')!;
let dispose = () => {};
let signedIn = getSession() !== null;
// Where a signed-out visitor wanted to go, so signing in lands there.
let afterSignIn = '/projects';

function show(route: Route): void {
  dispose();
  dispose = () => {};
  document.title = 'Vaporform';
  if (!signedIn) {
    if (route.name !== 'login' && route.name !== 'not-found') afterSignIn = location.hash.slice(1) || '/projects';
    dispose = mountLogin(root);
    return;
  }
  switch (route.name) {
    case 'login':
      return navigate('/projects');
    case 'projects':
      dispose = mountProjects(root);
      return;
    case 'project':
      dispose = mountProject(root, route.id);
      return;
    case 'not-found':
      replace(
        root,
        appShell(
          [],
          h(
            'main',
            { class: 'page empty' },
            h('h2', {}, 'Nothing here'),
            h('p', { class: 'muted' }, `No page at ${route.path}.`),
            h('a', { class: 'btn btn-ghost', href: '#/projects' }, 'Back to projects'),
          ),
        ),
      );
  }
}

onRouteChange(show);
onOtherTab({ signedIn: () => void auth.restore().catch(() => {}) });
onSessionChange((session) => {
  // Token refreshes also change the session; only signing in or out changes the screen.
  const now = session !== null;
  if (now === signedIn) return;
  signedIn = now;
  if (signedIn) {
    const target = afterSignIn;
    afterSignIn = '/projects';
    if (location.hash.slice(1) === target) show(currentRoute());
    else navigate(target);
  } else {
    show(currentRoute());
  }
});
// The tokens live in memory: a reload asks the server for the session again, through the refresh cookie.
if (mayHaveSession()) {
  afterSignIn = location.hash.slice(1) || '/projects';
  void auth
    .restore()
    .catch(() => null)
    .finally(() => {
      if (getSession() === null) show(currentRoute());
    });
} else {
  show(currentRoute());
}
