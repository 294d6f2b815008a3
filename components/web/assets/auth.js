// Register and log in. After either, the user goes back to where they were headed (`next`).

import { api } from './api.js';
import { h, mount } from './dom.js';
import { field, showProblem, clearErrors, whileSubmitting } from './forms.js';

/** Only same-origin paths, so `?next=` cannot send anyone to another site. */
function nextPath(query) {
  const next = query.get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

async function signIn({ session, navigate, announce, query }, email, password) {
  const user = await api('POST', '/api/session', { body: { email, password } });
  session.setUser(user);
  await session.refreshCart();
  announce(`Signed in as ${user.name}.`);
  navigate(nextPath(query), { replace: true });
}

export async function renderLogin(context) {
  const { main, query, setTitle } = context;
  setTitle('Log in');
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'stack narrow', novalidate: true },
    field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'email', required: true }),
    field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit', class: 'button-primary' }, 'Log in'),
    status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = new FormData(form);
    whileSubmitting(form, () => signIn(context, String(data.get('email')).trim(), String(data.get('password')))
      .catch((error) => showProblem(form, status, error)));
  });
  const registerHref = `/register?next=${encodeURIComponent(nextPath(query))}`;
  mount(main,
    h('h1', {}, 'Log in'),
    form,
    h('p', {}, 'New here? ', h('a', { href: registerHref }, 'Create an account'), '.'));
}

export async function renderRegister(context) {
  const { main, query, setTitle } = context;
  setTitle('Create an account');
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'stack narrow', novalidate: true },
    field({ name: 'name', label: 'Name', autocomplete: 'name', required: true }),
    field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'email', required: true }),
    field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', required: true, minLength: 12, hint: 'At least 12 characters; a long passphrase is best.' }),
    h('button', { type: 'submit', class: 'button-primary' }, 'Create account'),
    status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = new FormData(form);
    const email = String(data.get('email')).trim();
    const password = String(data.get('password'));
    whileSubmitting(form, async () => {
      try {
        await api('POST', '/api/accounts', { body: { name: String(data.get('name')).trim(), email, password } });
        await signIn(context, email, password);
      } catch (error) {
        showProblem(form, status, error);
      }
    });
  });
  mount(main,
    h('h1', {}, 'Create an account'),
    form,
    h('p', {}, 'Already have an account? ', h('a', { href: `/login?next=${encodeURIComponent(nextPath(query))}` }, 'Log in'), '.'));
}
