// Client-side routing with the History API: links navigate without a reload, each path
// renders one page module into <main>, and the footer shows which region answered.

import { api, onServed, serverMilliseconds } from './api.js';
import { h, mount, messageBox } from './dom.js';
import { session } from './session.js';
import * as catalog from './catalog.js';
import * as course from './course.js';
import * as cart from './cart.js';
import * as checkout from './checkout.js';
import * as auth from './auth.js';
import * as myCourses from './my-courses.js';
import * as admin from './admin.js';
import { problemMessage } from './problems.js';

const ROUTES = [
  [/^\/$/, catalog.render],
  [/^\/courses\/([^/]+)$/, course.render],
  [/^\/cart$/, cart.render],
  [/^\/checkout$/, checkout.render],
  [/^\/login$/, auth.renderLogin],
  [/^\/register$/, auth.renderRegister],
  [/^\/my-courses$/, myCourses.render],
  [/^\/admin\/courses$/, admin.renderList],
  [/^\/admin\/courses\/new$/, admin.renderEditor],
  [/^\/admin\/courses\/([^/]+)$/, admin.renderEditor],
];

const main = document.getElementById('main');
const announcer = document.getElementById('announcer');
let current = null;
/** Path and query of the page on screen. */
let rendered = null;

/** Goes to `url` (a same-origin path) without reloading. */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render({ focus: true });
}

/** Tells screen readers about something that happened outside the focused element. */
export function announce(text) {
  announcer.textContent = '';
  // A fresh text node after clearing makes repeated identical messages heard again.
  requestAnimationFrame(() => { announcer.textContent = text; });
}

async function render({ focus }) {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const path = location.pathname;
  rendered = path + location.search;
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  const context = {
    main,
    params: route ? path.match(route[0]).slice(1).map(decodeURIComponent) : [],
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    navigate,
    announce,
    session,
    setTitle: (title) => { document.title = title ? `${title} · Course Platform` : 'Course Platform'; },
  };
  renderNav();
  main.setAttribute('aria-busy', 'true');
  try {
    if (route) await route[1](context);
    else renderNotFound(context);
  } catch (error) {
    if (error?.name === 'AbortError' || controller.signal.aborted) return;
    context.setTitle('Error');
    mount(main, h('h1', { tabindex: -1 }, 'Something went wrong'), messageBox('error', problemMessage(error)));
  } finally {
    if (current === controller) main.removeAttribute('aria-busy');
  }
  if (focus && current === controller) {
    // Move focus to the new page's heading so keyboard and screen-reader users start there.
    const heading = main.querySelector('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
}

function renderNotFound({ main, setTitle }) {
  setTitle('Page not found');
  mount(main,
    h('h1', {}, 'Page not found'),
    h('p', {}, 'There is no page at this address. ', h('a', { href: '/' }, 'Browse the catalog'), '.'));
}

function renderNav() {
  const user = session.user;
  const link = (href, text, extra = {}) => {
    const active = location.pathname === href || (href !== '/' && location.pathname.startsWith(`${href}/`));
    return h('li', {}, h('a', { href, 'aria-current': active ? 'page' : undefined, ...extra }, text));
  };
  const cartLabel = session.cartCount ? `Cart (${session.cartCount})` : 'Cart';
  mount(document.getElementById('nav'),
    link('/', 'Catalog'),
    link('/cart', cartLabel, { dataset: { testid: 'nav-cart' } }),
    user ? link('/my-courses', 'My courses') : null,
    session.isAdmin ? link('/admin/courses', 'Admin') : null,
    user
      ? h('li', {}, h('button', { type: 'button', class: 'link-button', onclick: logout }, `Log out (${user.name})`))
      : [link('/login', 'Log in'), link('/register', 'Register')]);
}

async function logout() {
  try {
    await api('DELETE', '/api/session');
  } catch (error) {
    announce(problemMessage(error));
    return;
  }
  session.setUser(null);
  await session.refreshCart();
  announce('You are logged out.');
  navigate('/');
}

function showServed({ region, serverMs, timings }) {
  const footer = document.getElementById('served-by');
  const parts = [`Served by ${region ?? 'an unknown region'}`];
  if (serverMs !== null) parts.push(`server time ${serverMs.toFixed(1)} ms`);
  footer.textContent = parts.join(' · ');
  footer.title = timings.map((entry) => `${entry.name}${entry.dur !== null ? ` ${entry.dur} ms` : ''}${entry.desc ? ` (${entry.desc})` : ''}`).join(', ');
}

function interceptLinks(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.target.closest('a[href]');
  if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
  const url = new URL(anchor.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  // In-page anchors (the skip link) keep the browser's own behaviour, which moves focus.
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  event.preventDefault();
  if (url.href === location.href) return;
  navigate(url.pathname + url.search + url.hash);
}

async function start() {
  // Until an API call answers, show the HTML document's own server timing.
  const [navigation] = performance.getEntriesByType('navigation');
  if (navigation?.serverTiming?.length) {
    const timings = navigation.serverTiming.map(({ name, duration, description }) => ({ name, dur: duration, desc: description }));
    showServed({ region: null, serverMs: serverMilliseconds(timings), timings });
  }
  onServed(showServed);
  session.onChange(renderNav);
  document.addEventListener('click', interceptLinks);
  window.addEventListener('popstate', () => {
    // Following an in-page anchor (the skip link) also fires popstate; the page is the same.
    if (location.pathname + location.search === rendered) return;
    render({ focus: true });
  });
  try {
    await session.load();
  } catch (error) {
    announce(problemMessage(error));
  }
  renderNav();
  await render({ focus: false });
  document.documentElement.dataset.ready = 'true';
}

start();
