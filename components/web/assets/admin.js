// The admin course editor: create drafts, edit, publish and unpublish. The API enforces the
// admin role; these pages only hide themselves from everyone else.

import { api, withQuery } from './api.js';
import { h, mount, money, capitalize, LEVELS, messageBox } from './dom.js';
import { field, showProblem, clearErrors, whileSubmitting } from './forms.js';

function requireAdmin({ main, session, setTitle }) {
  if (session.isAdmin) return true;
  setTitle('Admins only');
  mount(main, h('h1', {}, 'Admins only'), messageBox('error', session.user
    ? 'Your account is not an admin account.'
    : ['Please ', h('a', { href: `/login?next=${encodeURIComponent(location.pathname)}` }, 'log in'), ' with an admin account.']));
  return false;
}

export async function renderList(context) {
  const { main, query, signal, navigate, setTitle } = context;
  if (!requireAdmin(context)) return;
  setTitle('Manage courses');
  const q = query.get('q') ?? '';
  const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
  const result = await api('GET', withQuery('/api/courses', { q, page, page_size: 25, sort: q ? 'relevance' : 'newest' }), { signal });
  const open = h('form', { class: 'search', role: 'search', 'aria-label': 'Manage courses',
    onsubmit: (event) => {
      event.preventDefault();
      const value = String(new FormData(event.currentTarget).get('q')).trim();
      navigate(value ? `/admin/courses?q=${encodeURIComponent(value)}` : '/admin/courses');
    } },
  h('div', { class: 'field field-grow' }, h('label', { for: 'admin-q' }, 'Search published courses'), h('input', { id: 'admin-q', name: 'q', type: 'search', value: q })),
  h('div', { class: 'field field-actions' }, h('button', { type: 'submit' }, 'Search')));
  const pages = Math.max(1, Math.ceil(result.total / result.page_size));
  const pageLink = (target, label) => h('a', { class: 'button button-secondary', href: withQuery('/admin/courses', { q, page: target > 1 ? target : '' }) }, label);
  mount(main,
    h('h1', {}, 'Manage courses'),
    h('p', {}, h('a', { class: 'button button-primary', href: '/admin/courses/new' }, 'New course')),
    open,
    h('table', { class: 'admin-table' },
      h('caption', { class: 'visually-hidden' }, 'Courses'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Title'), h('th', { scope: 'col' }, 'Price'), h('th', { scope: 'col' }, 'Status'))),
      h('tbody', {}, result.items.map((course) => h('tr', {},
        h('td', {}, h('a', { href: `/admin/courses/${encodeURIComponent(course.id)}` }, course.title)),
        h('td', {}, money(course.price)),
        h('td', {}, course.published ? 'Published' : 'Draft'))))),
    pages > 1 ? h('nav', { class: 'pagination', 'aria-label': 'Pagination' },
      page > 1 ? pageLink(page - 1, '← Previous') : h('span'),
      h('span', {}, `Page ${page} of ${pages}`),
      page < pages ? pageLink(page + 1, 'Next →') : h('span')) : null);
}

/** Form values -> the API's course fields. */
function readForm(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) ?? '').trim();
  const price = Number(text('price'));
  return {
    title: text('title'),
    slug: text('slug') || undefined,
    subtitle: text('subtitle'),
    description: text('description'),
    outline: text('outline').split('\n').map((line) => line.trim()).filter(Boolean),
    category: text('category'),
    instructor: text('instructor'),
    level: text('level'),
    language: text('language'),
    price: { amount_cents: Number.isFinite(price) ? Math.round(price * 100) : -1, currency: text('currency') || 'USD' },
    duration_minutes: Number.parseInt(text('duration_minutes'), 10),
  };
}

/** Only the fields that differ from `course`, for PATCH. */
function changes(course, values) {
  const current = {
    title: course.title,
    slug: course.slug,
    subtitle: course.subtitle,
    description: course.description,
    outline: course.outline,
    category: course.category.slug,
    instructor: course.instructor.slug,
    level: course.level,
    language: course.language,
    price: course.price,
    duration_minutes: course.duration_minutes,
  };
  const patch = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(current[key])) patch[key] = value;
  }
  return patch;
}

export async function renderEditor(context) {
  const { main, params, signal, navigate, setTitle, announce } = context;
  if (!requireAdmin(context)) return;
  const [id] = params;
  const [categories, loaded] = await Promise.all([
    api('GET', '/api/categories', { signal }).then((body) => body.items),
    id ? api('GET', `/api/courses/${encodeURIComponent(id)}`, { signal }) : null,
  ]);
  let course = loaded;
  setTitle(course ? `Edit ${course.title}` : 'New course');

  const status = h('div', { class: 'form-status', 'aria-live': 'polite', dataset: { testid: 'editor-status' } });
  const value = (read) => (course ? read(course) : undefined);
  const form = h('form', { class: 'stack editor', novalidate: true },
    field({ name: 'title', label: 'Title', required: true, value: value((c) => c.title), maxLength: 200 }),
    field({ name: 'slug', label: 'Slug', value: value((c) => c.slug), hint: 'Lowercase words joined by dashes. Left empty, it is made from the title.', pattern: '[a-z0-9]+(-[a-z0-9]+)*' }),
    field({ name: 'subtitle', label: 'Subtitle', value: value((c) => c.subtitle), maxLength: 300 }),
    field({ name: 'description', label: 'Description', tag: 'textarea', rows: 8, value: value((c) => c.description) }),
    field({ name: 'outline', label: 'Outline', tag: 'textarea', rows: 6, value: value((c) => c.outline.join('\n')), hint: 'One lesson per line.' }),
    h('div', { class: 'field-row' },
      field({ name: 'category', label: 'Category', tag: 'select', value: value((c) => c.category.slug), options: categories.map((c) => [c.slug, c.name]) }),
      field({ name: 'level', label: 'Level', tag: 'select', value: value((c) => c.level), options: LEVELS.map((level) => [level, capitalize(level)]) })),
    h('div', { class: 'field-row' },
      field({ name: 'instructor', label: 'Instructor (slug)', required: true, value: value((c) => c.instructor.slug) }),
      field({ name: 'language', label: 'Language', required: true, value: value((c) => c.language) ?? 'en', hint: 'Two-letter code, e.g. en', maxLength: 2 })),
    h('div', { class: 'field-row' },
      field({ name: 'price', label: 'Price', type: 'number', min: 0, step: '0.01', required: true, inputMode: 'decimal', value: value((c) => (c.price.amount_cents / 100).toFixed(2)) }),
      field({ name: 'currency', label: 'Currency', value: value((c) => c.price.currency) ?? 'USD', maxLength: 3 }),
      field({ name: 'duration_minutes', label: 'Length (minutes)', type: 'number', min: 1, step: 1, required: true, value: value((c) => c.duration_minutes) })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button-primary' }, course ? 'Save changes' : 'Create draft')),
    status);

  const publishArea = h('div', { class: 'publish' });
  const showPublish = () => {
    if (!course) return;
    const publish = h('button', { type: 'button', class: course.published ? 'button-secondary' : 'button-primary' }, course.published ? 'Unpublish' : 'Publish');
    publish.addEventListener('click', async () => {
      publish.disabled = true;
      try {
        course = await api('POST', `/api/courses/${encodeURIComponent(course.id)}/${course.published ? 'unpublish' : 'publish'}`);
        mount(status, messageBox('success', course.published ? 'Published: students can now find this course.' : 'Unpublished: the course is hidden from students.'));
        announce(course.published ? 'Course published.' : 'Course unpublished.');
        showPublish();
        publishArea.querySelector('button')?.focus();
      } catch (error) {
        publish.disabled = false;
        mount(status, messageBox('error', error.message));
      }
    });
    mount(publishArea,
      h('p', { dataset: { testid: 'publish-state' } }, 'Status: ', h('strong', {}, course.published ? 'Published' : 'Draft')),
      publish,
      h('a', { class: 'button button-secondary', href: `/courses/${encodeURIComponent(course.slug)}` }, 'View course page'));
  };
  showPublish();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = readForm(form);
    whileSubmitting(form, async () => {
      try {
        if (course) {
          const patch = changes(course, values);
          if (!Object.keys(patch).length) {
            mount(status, messageBox('info', 'Nothing changed.'));
            return;
          }
          course = await api('PATCH', `/api/courses/${encodeURIComponent(course.id)}`, { body: patch });
          setTitle(`Edit ${course.title}`);
          mount(status, messageBox('success', 'Saved.'));
          announce('Course saved.');
          showPublish();
        } else {
          const created = await api('POST', '/api/courses', { body: values });
          announce('Draft created.');
          navigate(`/admin/courses/${encodeURIComponent(created.id)}`, { replace: true });
        }
      } catch (error) {
        showProblem(form, status, error);
      }
    });
  });

  mount(main,
    h('p', { class: 'breadcrumbs' }, h('a', { href: '/admin/courses' }, 'Manage courses')),
    h('h1', {}, course ? `Edit “${course.title}”` : 'New course'),
    publishArea,
    form);
}
