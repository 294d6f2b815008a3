// The cart: lines at current catalog prices, removal, and the way to checkout.

import { api } from './api.js';
import { h, mount, money, messageBox } from './dom.js';

export async function render(context) {
  const { main, signal, setTitle } = context;
  setTitle('Your cart');
  const cart = await api('GET', '/api/cart', { signal });
  context.session.setCart(cart);
  show(context, cart, null);
}

function show(context, cart, message) {
  const { main, session, announce } = context;
  const remove = async (item, button) => {
    button.disabled = true;
    try {
      const updated = await api('DELETE', `/api/cart/items/${encodeURIComponent(item.course_id)}`);
      session.setCart(updated);
      announce(`Removed ${item.title} from your cart.`);
      show(context, updated, messageBox('success', `Removed “${item.title}”.`));
      main.querySelector('h1')?.focus();
    } catch (error) {
      button.disabled = false;
      show(context, cart, messageBox('error', error.message));
    }
  };
  if (!cart.items.length) {
    mount(main,
      h('h1', { tabindex: -1 }, 'Your cart'),
      message,
      h('p', { class: 'empty' }, 'Your cart is empty. ', h('a', { href: '/' }, 'Browse the catalog'), '.'));
    return;
  }
  const checkoutHref = session.user ? '/checkout' : '/login?next=%2Fcheckout';
  mount(main,
    h('h1', { tabindex: -1 }, 'Your cart'),
    message,
    h('ul', { class: 'line-items', dataset: { testid: 'cart-items' } }, cart.items.map((item) => {
      const button = h('button', { type: 'button', class: 'button-secondary', 'aria-label': `Remove ${item.title}` }, 'Remove');
      button.addEventListener('click', () => remove(item, button));
      return h('li', { class: 'line-item' },
        h('a', { href: `/courses/${encodeURIComponent(item.slug)}` }, item.title),
        h('span', { class: 'price' }, money(item.price)),
        button);
    })),
    h('p', { class: 'total' }, `Total (${cart.count} ${cart.count === 1 ? 'course' : 'courses'}): `, h('strong', { dataset: { testid: 'cart-total' } }, money(cart.total))),
    h('p', {}, h('a', { class: 'button button-primary', href: checkoutHref }, session.user ? 'Check out' : 'Log in to check out')));
}
