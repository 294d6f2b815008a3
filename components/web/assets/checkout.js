// Checkout: one Idempotency-Key per checkout attempt, so a double click, a retry after a
// lost connection or a reload of the request can never charge twice.

import { api } from './api.js';
import { h, mount, money, messageBox } from './dom.js';
import { fieldErrors } from './problems.js';

/** Answers after which the server has not finished with the key: retry with the same one. */
const RETRY_SAME_KEY = new Set(['network', '/problems/checkout-in-progress', '/problems/service-unavailable']);

export async function render({ main, signal, session, setTitle, navigate, announce }) {
  setTitle('Checkout');
  if (!session.user) {
    mount(main,
      h('h1', {}, 'Checkout'),
      messageBox('info', 'Please ', h('a', { href: '/login?next=%2Fcheckout' }, 'log in'), ' or ', h('a', { href: '/register?next=%2Fcheckout' }, 'create an account'), ' to check out.'));
    return;
  }
  const cart = await api('GET', '/api/cart', { signal });
  session.setCart(cart);
  if (!cart.items.length) {
    mount(main, h('h1', {}, 'Checkout'), h('p', { class: 'empty' }, 'Your cart is empty. ', h('a', { href: '/' }, 'Browse the catalog'), '.'));
    return;
  }

  // The attempt a submit belongs to: the key and the card it was first sent with.
  let attempt = null;
  let submitting = false;
  const status = h('div', { class: 'form-status', dataset: { testid: 'checkout-status' } });
  const cardError = h('p', { id: 'card-error', class: 'field-error', hidden: true });
  const card = h('input', {
    id: 'card', name: 'card_number', type: 'text', inputMode: 'numeric', autocomplete: 'cc-number',
    required: true, pattern: '[0-9 ]{12,23}', 'aria-describedby': 'card-hint card-error', maxLength: 23,
  });
  const button = h('button', { type: 'submit', class: 'button-primary', dataset: { testid: 'pay' } }, `Pay ${money(cart.total)}`);

  const form = h('form', { class: 'stack', novalidate: true }, 
    h('div', { class: 'field' },
      h('label', { for: 'card' }, 'Card number'),
      card,
      h('p', { id: 'card-hint', class: 'hint' }, 'Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined.'),
      cardError),
    button,
    status);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    // Disabled before anything awaits: a second click in the same tick cannot submit again.
    if (submitting) return;
    const cardNumber = card.value.replace(/\s+/g, '');
    if (!/^\d{12,19}$/.test(cardNumber)) {
      showFieldError('Enter the 12 to 19 digits of the card number.');
      card.focus();
      return;
    }
    showFieldError(null);
    submitting = true;
    button.disabled = true;
    button.textContent = 'Processing payment…';
    mount(status, messageBox('info', 'Processing your payment…'));
    if (!attempt || attempt.cardNumber !== cardNumber) {
      attempt = { key: crypto.randomUUID(), cardNumber };
    }
    try {
      const result = await api('POST', '/api/checkout', {
        body: { card_number: cardNumber },
        headers: { 'Idempotency-Key': attempt.key },
      });
      attempt = null;
      session.setCart({ count: 0 });
      announce('Payment accepted. Enrolling you now.');
      navigate(`/my-courses?order=${encodeURIComponent(result.order.id)}`, { replace: true });
    } catch (error) {
      if (!RETRY_SAME_KEY.has(error.type)) attempt = null;
      const field = fieldErrors(error).get('card_number');
      if (field) showFieldError(`Card number ${field}.`);
      mount(status, messageBox('error', error.message));
      submitting = false;
      button.disabled = false;
      button.textContent = `Pay ${money(cart.total)}`;
      (field ? card : button).focus();
    }
  });

  function showFieldError(text) {
    cardError.hidden = !text;
    cardError.textContent = text ?? '';
    card.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  mount(main,
    h('h1', {}, 'Checkout'),
    h('section', { 'aria-labelledby': 'summary', class: 'card' },
      h('h2', { id: 'summary' }, 'Order summary'),
      h('ul', { class: 'line-items' }, cart.items.map((item) => h('li', { class: 'line-item' }, h('span', {}, item.title), h('span', { class: 'price' }, money(item.price))))),
      h('p', { class: 'total' }, 'Total: ', h('strong', {}, money(cart.total)))),
    h('section', { 'aria-labelledby': 'payment' },
      h('h2', { id: 'payment' }, 'Payment'),
      form));
}
