// "My courses": follows a just-paid order until the enrollment worker has enrolled the
// student (polling with bounded exponential backoff), then lists every enrollment.

import { api, ApiProblem } from './api.js';
import { h, mount, money, dateTime, delay, messageBox } from './dom.js';

/** Poll delays: quick at first (enrollment usually takes well under a second), then capped. */
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 4000;
const MAX_POLLS = 20;
const FINAL = new Set(['enrolled', 'payment_failed', 'cancelled']);

const STATUS_TEXT = {
  pending_payment: 'Waiting for the payment to be confirmed…',
  paid: 'Payment received. Enrolling you in your courses…',
  enrolled: 'You are enrolled. Enjoy your courses!',
  payment_failed: 'The payment failed, so you were not enrolled. You have not been charged.',
  cancelled: 'This order was cancelled.',
};

export async function render({ main, query, signal, session, setTitle, announce }) {
  setTitle('My courses');
  if (!session.user) {
    mount(main, h('h1', {}, 'My courses'), messageBox('info', 'Please ', h('a', { href: '/login?next=%2Fmy-courses' }, 'log in'), ' to see your courses.'));
    return;
  }
  const orderId = query.get('order');
  const orderPanel = h('section', { class: 'order-status', 'aria-live': 'polite', dataset: { testid: 'order-status' } });
  const list = h('section', { 'aria-labelledby': 'enrolled-heading' });
  mount(main, h('h1', {}, 'My courses'), orderId ? orderPanel : null, list);

  await showEnrollments(list, signal);
  if (!orderId) return;

  let order = null;
  let wait = FIRST_DELAY_MS;
  for (let poll = 0; poll < MAX_POLLS; poll += 1) {
    try {
      order = await api('GET', `/api/orders/${encodeURIComponent(orderId)}`, { signal });
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 404) {
        mount(orderPanel, messageBox('error', 'We could not find that order.'));
        return;
      }
      if (error.name === 'AbortError') throw error;
      // Transient: keep following within the bound.
    }
    if (order) showOrder(orderPanel, order);
    if (order && FINAL.has(order.status)) break;
    await delay(wait, signal);
    wait = Math.min(wait * 2, MAX_DELAY_MS);
  }
  if (order?.status === 'enrolled') {
    announce('You are enrolled.');
    await showEnrollments(list, signal);
  } else if (!order || !FINAL.has(order.status)) {
    const again = h('button', { type: 'button', class: 'button-secondary', onclick: () => location.reload() }, 'Check again');
    mount(orderPanel, messageBox('warning', 'Your order is still being processed. It will appear here shortly; you will not be charged twice. ', again));
  }
}

function showOrder(panel, order) {
  mount(panel,
    h('h2', {}, 'Your order'),
    messageBox(order.status === 'enrolled' ? 'success' : order.status === 'payment_failed' || order.status === 'cancelled' ? 'error' : 'info',
      STATUS_TEXT[order.status] ?? `Order status: ${order.status}`),
    h('p', { class: 'meta' },
      h('span', { dataset: { testid: 'order-state' } }, `Status: ${order.status.replace('_', ' ')}`),
      ` · ${order.items.length} ${order.items.length === 1 ? 'course' : 'courses'} · ${money(order.total)} · ${dateTime(order.created_at)}`));
  panel.dataset.status = order.status;
}

async function showEnrollments(section, signal) {
  const { items } = await api('GET', '/api/me/enrollments', { signal });
  mount(section,
    h('h2', { id: 'enrolled-heading' }, 'Enrolled courses'),
    items.length
      ? h('ul', { class: 'enrollments', dataset: { testid: 'enrollments' } }, items.map((item) => h('li', { class: 'card' },
        h('a', { href: `/courses/${encodeURIComponent(item.slug)}` }, item.title),
        h('p', { class: 'meta' }, `Enrolled ${dateTime(item.enrolled_at)}`))))
      : h('p', { class: 'empty', dataset: { testid: 'no-enrollments' } }, 'You are not enrolled in any course yet. ', h('a', { href: '/' }, 'Browse the catalog'), '.'));
}
