/** The members panel: who is in the project, and (for admins) inviting an existing account by email. */
import { projects, type Member, type Project, type Role } from '../api';
import { formValues, h, replace } from '../dom';
import { fullDate } from '../format';
import { errorBox } from './forms';

// Owners alone may grant owner or admin (the API enforces it; the form only offers what will work).
const GRANTABLE: Record<'owner' | 'admin', Role[]> = {
  owner: ['write', 'execute', 'read', 'admin', 'owner'],
  admin: ['write', 'execute', 'read'],
};

export interface MembersPanel {
  el: HTMLElement;
  members(): Member[];
  reload(): Promise<void>;
  /** The project (and so the caller's role) changed. */
  setProject(project: Project): void;
}

export function membersPanel(initial: Project, selfId: string, onLoaded: () => void): MembersPanel {
  let project = initial;
  let members: Member[] = [];
  const list = h('ul', { class: 'member-list', testid: 'member-list' });
  const error = errorBox('members-error');
  const inviteSlot = h('div');

  const renderList = () =>
    replace(
      list,
      ...members.map((member) =>
        h(
          'li',
          { class: 'member', testid: 'member-row', 'data-email': member.email, title: `Joined ${fullDate(member.joinedAt)}` },
          h('span', { class: 'avatar', 'aria-hidden': 'true' }, (member.name || member.email).slice(0, 1).toUpperCase()),
          h(
            'span',
            { class: 'member-text' },
            h(
              'span',
              { class: 'member-name' },
              h('span', {}, member.name || member.email),
              member.userId === selfId ? h('span', { class: 'muted you' }, '\u00a0(you)') : null,
            ),
            h('span', { class: 'member-email muted' }, member.email),
          ),
          h('span', { class: 'badge badge-role', testid: 'member-role' }, member.role),
        ),
      ),
    );

  const renderInvite = () => {
    const canInvite = project.permissions.includes('admin') && (project.role === 'owner' || project.role === 'admin');
    if (!canInvite) return replace(inviteSlot);
    const roles = GRANTABLE[project.role as 'owner' | 'admin'];
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'invite-submit' }, 'Invite');
    const form = h(
      'form',
      { class: 'invite-form', testid: 'invite-form', novalidate: true },
      h('input', { name: 'email', type: 'email', placeholder: 'teammate@example.com', 'aria-label': 'Email to invite', required: true, testid: 'invite-email' }),
      h(
        'div',
        { class: 'invite-row' },
        h('select', { name: 'role', 'aria-label': 'Role', testid: 'invite-role' }, ...roles.map((role) => h('option', { value: role }, role))),
        submit,
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      const { email = '', role = 'write' } = formValues(form);
      if (!email) return error.show('Enter the email of an existing Vaporform account.');
      submit.disabled = true;
      try {
        const member = await projects.addMember(project.id, email, role as Role);
        members = [...members.filter((m) => m.userId !== member.userId), member];
        renderList();
        form.reset();
        onLoaded();
      } catch (err) {
        error.show(err);
      } finally {
        submit.disabled = false;
      }
    });
    replace(inviteSlot, form);
  };

  const reload = async () => {
    try {
      members = (await projects.members(project.id)).items;
      renderList();
      onLoaded();
    } catch (err) {
      error.show(err);
    }
  };

  renderInvite();
  return {
    el: h('section', { class: 'panel-section', testid: 'members-panel' }, h('h3', { class: 'section-title' }, 'Members'), list, inviteSlot, error.el),
    members: () => members,
    reload,
    setProject(next) {
      const roleChanged = next.role !== project.role;
      project = next;
      if (roleChanged) renderInvite();
    },
  };
}
