/** The frame around every signed-in screen: brand, breadcrumbs, who is signed in, sign out. */
import { auth } from '../api';
import { h, type Child } from '../dom';
import { getSession } from '../session';

export function appShell(crumbs: Child[], content: HTMLElement): HTMLElement {
  const user = getSession()?.user;
  const signOut = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-ghost btn-small',
      testid: 'sign-out',
      onclick: async () => {
        signOut.disabled = true;
        // A deliberate sign-out starts over at #/login (no hashchange, so nothing renders twice); clearing
        // the session then makes main.ts show the sign-in screen.
        history.replaceState(null, '', '#/login');
        await auth.logout();
      },
    },
    'Sign out',
  );
  return h(
    'div',
    { class: 'shell' },
    h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '#/projects' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Vaporform'),
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, ...crumbs),
      h(
        'div',
        { class: 'topbar-user' },
        user ? h('span', { class: 'user-chip', testid: 'current-user', title: user.email }, user.name || user.email) : null,
        signOut,
      ),
    ),
    content,
  );
}
