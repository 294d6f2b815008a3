// Small DOM helpers: elements are built with text nodes, never from HTML strings, so
// course titles or names from the API cannot inject markup.

/** Creates an element: h('a', { href: '/' }, 'Home'). `on*` attributes become listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (name in element && typeof element[name] !== 'function' && !name.includes('-')) {
      element[name] = value;
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces all children of `parent`. */
export function mount(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

const moneyFormats = new Map();

/** { amount_cents: 4900, currency: 'USD' } -> "$49.00". */
export function money(price) {
  if (!price) return '';
  let format = moneyFormats.get(price.currency);
  if (!format) {
    format = new Intl.NumberFormat(undefined, { style: 'currency', currency: price.currency });
    moneyFormats.set(price.currency, format);
  }
  return format.format(price.amount_cents / 100);
}

/** 95 -> "1 h 35 min". */
export function duration(minutes) {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function dateTime(rfc3339) {
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : dateFormat.format(date);
}

export const LEVELS = ['beginner', 'intermediate', 'advanced'];

export function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/** A message box for a form or page; `role="alert"` for errors so screen readers hear them at once. */
export function messageBox(kind, ...children) {
  return h('div', { class: `message message-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** Resolves after `ms`, or rejects when `signal` aborts (the user left the page). */
export function delay(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
