// Labelled form fields that show the API's per-field errors next to the field.

import { h, mount, messageBox } from './dom.js';
import { fieldErrors } from './problems.js';

/** A labelled input (or textarea/select via `tag`), with hint and error slots wired by aria-describedby. */
export function field({ name, label, tag = 'input', hint, options, ...attributes }) {
  const id = `field-${name}`;
  const describedBy = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  const control = tag === 'select'
    ? h('select', { id, name, 'aria-describedby': describedBy, ...attributes },
      options.map(([value, text]) => h('option', { value, selected: value === attributes.value }, text)))
    : h(tag, { id, name, 'aria-describedby': describedBy, ...attributes });
  return h('div', { class: 'field', dataset: { field: name } },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null,
    h('p', { id: `${id}-error`, class: 'field-error', hidden: true }));
}

/** Shows `problem` on `form`: field messages next to fields, the summary in `status`. */
export function showProblem(form, status, problem) {
  clearErrors(form);
  const byField = fieldErrors(problem);
  let first = null;
  for (const [name, message] of byField) {
    const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!wrapper) continue;
    const error = wrapper.querySelector('.field-error');
    error.hidden = false;
    error.textContent = message;
    const control = wrapper.querySelector('input, select, textarea');
    control.setAttribute('aria-invalid', 'true');
    first ??= control;
  }
  mount(status, messageBox('error', problem.message));
  first?.focus();
}

export function clearErrors(form) {
  for (const error of form.querySelectorAll('.field-error')) {
    error.hidden = true;
    error.textContent = '';
  }
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/** Runs `action` with the form's submit button disabled, so one click sends one request. */
export async function whileSubmitting(form, action) {
  const button = form.querySelector('button[type="submit"]');
  if (button.disabled) return;
  button.disabled = true;
  try {
    await action();
  } finally {
    button.disabled = false;
  }
}
