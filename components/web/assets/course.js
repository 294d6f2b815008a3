// One course: its description and outline, and "Add to cart".

import { api, ApiProblem } from './api.js';
import { h, mount, money, duration, capitalize, messageBox } from './dom.js';

const languageNames = new Intl.DisplayNames(undefined, { type: 'language' });

/** "en" -> "English"; an unknown code is shown as is. */
function languageName(code) {
  try {
    return languageNames.of(code) ?? code;
  } catch {
    return code;
  }
}

export async function render({ main, params, signal, session, setTitle, announce }) {
  const [slug] = params;
  let course;
  try {
    course = await api('GET', `/api/courses/${encodeURIComponent(slug)}`, { signal });
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 404) {
      setTitle('Course not found');
      mount(main, h('h1', {}, 'Course not found'), messageBox('error', error.message), h('p', {}, h('a', { href: '/' }, 'Back to the catalog')));
      return;
    }
    throw error;
  }
  setTitle(course.title);
  const status = h('div', { class: 'action-status', 'aria-live': 'polite', dataset: { testid: 'cart-status' } });
  const addButton = h('button', { type: 'button', class: 'button-primary', dataset: { testid: 'add-to-cart' } }, 'Add to cart');
  addButton.addEventListener('click', async () => {
    addButton.disabled = true;
    try {
      const cart = await api('PUT', `/api/cart/items/${encodeURIComponent(course.id)}`);
      session.setCart(cart);
      mount(status, messageBox('success', 'Added to your cart. ', h('a', { href: '/cart' }, 'View cart'), '.'));
      announce('Added to your cart.');
    } catch (error) {
      mount(status, messageBox('error', error.message, error.type === '/problems/course-already-owned' ? [' ', h('a', { href: '/my-courses' }, 'My courses')] : null));
    } finally {
      addButton.disabled = false;
    }
  });

  mount(main,
    h('article', { class: 'course-detail' },
      h('p', { class: 'breadcrumbs' }, h('a', { href: `/?category=${encodeURIComponent(course.category?.slug ?? '')}` }, course.category?.name)),
      h('h1', {}, course.title),
      course.subtitle ? h('p', { class: 'lead' }, course.subtitle) : null,
      course.published ? null : messageBox('warning', 'Draft: this course is not published, so students cannot see it.'),
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, 'Instructor'), h('dd', {}, course.instructor?.name)),
        h('div', {}, h('dt', {}, 'Level'), h('dd', {}, capitalize(course.level))),
        h('div', {}, h('dt', {}, 'Length'), h('dd', {}, duration(course.duration_minutes))),
        h('div', {}, h('dt', {}, 'Language'), h('dd', {}, languageName(course.language)))),
      h('div', { class: 'buy-box' },
        h('p', { class: 'price price-large', dataset: { testid: 'course-price' } }, money(course.price)),
        addButton,
        session.isAdmin ? h('a', { class: 'button button-secondary', href: `/admin/courses/${encodeURIComponent(course.id)}` }, 'Edit course') : null,
        status),
      h('section', { 'aria-labelledby': 'about' },
        h('h2', { id: 'about' }, 'About this course'),
        (course.description || '').split(/\n{2,}/).filter(Boolean).map((paragraph) => h('p', {}, paragraph))),
      course.outline?.length
        ? h('section', { 'aria-labelledby': 'outline' },
          h('h2', { id: 'outline' }, 'What you will learn'),
          h('ol', { class: 'outline' }, course.outline.map((item) => h('li', {}, item))))
        : null));
}
