/** Sign in, or create an account: one card, two modes. */
import { auth } from '../api';
import { formValues, h, replace } from '../dom';
import { errorBox, field } from './forms';

type Mode = 'sign-in' | 'register';

export function mountLogin(root: HTMLElement): () => void {
  let mode: Mode = 'sign-in';
  const card = h('div', { class: 'auth-card', testid: 'auth-screen' });

  const render = () => {
    const registering = mode === 'register';
    const error = errorBox('auth-error');
    const submit = h(
      'button',
      { type: 'submit', class: 'btn btn-primary btn-block', testid: 'auth-submit' },
      registering ? 'Create account' : 'Sign in',
    );
    const form = h(
      'form',
      { class: 'form', testid: registering ? 'register-form' : 'login-form', novalidate: true },
      registering
        ? field('Name', h('input', { name: 'name', type: 'text', autocomplete: 'name', maxlength: 200, testid: 'auth-name' }))
        : null,
      field(
        'Email',
        h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, testid: 'auth-email' }),
      ),
      field(
        'Password',
        h('input', {
          name: 'password',
          type: 'password',
          required: true,
          autocomplete: registering ? 'new-password' : 'current-password',
          testid: 'auth-password',
        }),
        registering ? 'At least 8 characters.' : undefined,
      ),
      error.el,
      submit,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      const { email = '', password = '', name = '' } = formValues(form);
      if (!email || !password) {
        error.show('Enter your email and password.');
        return;
      }
      submit.disabled = true;
      submit.textContent = registering ? 'Creating account…' : 'Signing in…';
      try {
        // Success updates the session; main.ts then shows the projects (or the page asked for).
        if (registering) await auth.register(email, password, name);
        else await auth.login(email, password);
      } catch (err) {
        error.show(err);
        submit.disabled = false;
        submit.textContent = registering ? 'Create account' : 'Sign in';
        form.querySelector<HTMLInputElement>('[name="password"]')?.select();
      }
    });

    replace(
      card,
      h('div', { class: 'auth-brand' }, h('span', { class: 'brand-mark brand-mark-large', 'aria-hidden': 'true' }), 'Vaporform'),
      h('h1', { class: 'auth-title' }, registering ? 'Create your account' : 'Sign in to Vaporform'),
      h(
        'p',
        { class: 'auth-subtitle' },
        registering ? 'Describe an app; agents build it in a sandbox while you watch.' : 'Welcome back.',
      ),
      form,
      h(
        'p',
        { class: 'auth-switch' },
        registering ? 'Already have an account? ' : 'New to Vaporform? ',
        h(
          'button',
          {
            type: 'button',
            class: 'link-button',
            testid: registering ? 'show-sign-in' : 'show-register',
            onclick: () => {
              mode = registering ? 'sign-in' : 'register';
              render();
            },
          },
          registering ? 'Sign in' : 'Create an account',
        ),
      ),
    );
    form.querySelector<HTMLInputElement>(registering ? '[name="name"]' : '[name="email"]')?.focus();
  };

  render();
  replace(root, h('main', { class: 'auth-page' }, card));
  return () => {};
}
