// The catalog: search, filters, sort and pagination, all kept in the URL so a search can be
// bookmarked, shared and walked back through with the browser's Back button.

import { api, withQuery } from './api.js';
import { h, mount, money, duration, capitalize, LEVELS, messageBox } from './dom.js';

const PAGE_SIZE = 12;
const SORTS = [
  ['newest', 'Newest'],
  ['relevance', 'Best match'],
  ['price_asc', 'Price: low to high'],
  ['price_desc', 'Price: high to low'],
  ['title', 'Title A–Z'],
];

let categoriesCache = null;

async function categories(signal) {
  categoriesCache ??= api('GET', '/api/categories', { signal }).then((body) => body.items).catch((error) => {
    categoriesCache = null;
    throw error;
  });
  return categoriesCache;
}

/** Whole dollars in the URL (what people type) -> cents for the API. */
function cents(dollars) {
  if (dollars === null || dollars === '') return undefined;
  const value = Number(dollars);
  return Number.isFinite(value) && value >= 0 ? Math.round(value * 100) : undefined;
}

export async function render({ main, query, signal, navigate, setTitle }) {
  const filters = {
    q: query.get('q') ?? '',
    category: query.get('category') ?? '',
    level: query.get('level') ?? '',
    min_price: query.get('min_price') ?? '',
    max_price: query.get('max_price') ?? '',
    sort: query.get('sort') ?? '',
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
  };
  setTitle(filters.q ? `“${filters.q}”` : 'Catalog');
  const sort = filters.sort || (filters.q ? 'relevance' : 'newest');
  const [categoryList, result] = await Promise.all([
    categories(signal).catch(() => []),
    api('GET', withQuery('/api/courses', {
      q: filters.q,
      category: filters.category,
      level: filters.level,
      min_price: cents(filters.min_price),
      max_price: cents(filters.max_price),
      sort,
      page: filters.page,
      page_size: PAGE_SIZE,
    }), { signal }).catch((error) => ({ error })),
  ]);

  const form = searchForm(filters, sort, categoryList, navigate);
  const heading = h('h1', {}, filters.q ? `Courses matching “${filters.q}”` : 'Find your next course');
  if (result.error) {
    mount(main, heading, form, messageBox('error', result.error.message));
    return;
  }
  const pages = Math.max(1, Math.ceil(result.total / result.page_size));
  mount(main,
    heading,
    form,
    h('p', { class: 'result-count', role: 'status', dataset: { testid: 'result-count' } },
      result.total === 1 ? '1 course' : `${result.total.toLocaleString()} courses`,
      pages > 1 ? ` · page ${result.page} of ${pages}` : ''),
    result.items.length
      ? h('ul', { class: 'course-grid' }, result.items.map(courseCard))
      : h('p', { class: 'empty' }, 'No courses match these filters. Try a broader search.'),
    pagination(result.page, pages));
}

function searchForm(filters, sort, categoryList, navigate) {
  const submit = (event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const params = new URLSearchParams();
    for (const [key, value] of data) {
      const text = String(value).trim();
      // A sort the person did not choose stays implicit, so a new search ranks by relevance.
      const implicitSort = key === 'sort' && (text === (filters.sort ? null : sort) || text === (data.get('q') ? 'relevance' : 'newest'));
      if (text && !implicitSort) params.set(key, text);
    }
    const search = params.toString();
    navigate(search ? `/?${search}` : '/');
  };
  const autoSubmit = (event) => event.currentTarget.form.requestSubmit();
  const option = (value, label, selected) => h('option', { value, selected: value === selected }, label);
  return h('form', { class: 'search', role: 'search', 'aria-label': 'Courses', onsubmit: submit },
    h('div', { class: 'field field-grow' },
      h('label', { for: 'q' }, 'Search'),
      h('input', { id: 'q', name: 'q', type: 'search', value: filters.q, placeholder: 'e.g. rust, photography, SQL', autocomplete: 'off' })),
    h('div', { class: 'field' },
      h('label', { for: 'category' }, 'Category'),
      h('select', { id: 'category', name: 'category', onchange: autoSubmit },
        option('', 'All categories', filters.category),
        categoryList.map((category) => option(category.slug, `${category.name} (${category.course_count})`, filters.category)))),
    h('div', { class: 'field' },
      h('label', { for: 'level' }, 'Level'),
      h('select', { id: 'level', name: 'level', onchange: autoSubmit },
        option('', 'Any level', filters.level),
        LEVELS.map((level) => option(level, capitalize(level), filters.level)))),
    h('fieldset', { class: 'field price-range' },
      h('legend', {}, 'Price (USD)'),
      h('label', { for: 'min_price', class: 'visually-hidden' }, 'Minimum price'),
      h('input', { id: 'min_price', name: 'min_price', type: 'number', min: 0, step: 1, inputMode: 'numeric', value: filters.min_price, placeholder: 'Min' }),
      h('span', { 'aria-hidden': 'true' }, '–'),
      h('label', { for: 'max_price', class: 'visually-hidden' }, 'Maximum price'),
      h('input', { id: 'max_price', name: 'max_price', type: 'number', min: 0, step: 1, inputMode: 'numeric', value: filters.max_price, placeholder: 'Max' })),
    h('div', { class: 'field' },
      h('label', { for: 'sort' }, 'Sort by'),
      h('select', { id: 'sort', name: 'sort', onchange: autoSubmit },
        SORTS.map(([value, label]) => option(value, label, sort)))),
    h('div', { class: 'field field-actions' }, h('button', { type: 'submit' }, 'Search')));
}

function courseCard(course) {
  return h('li', { class: 'card course-card', dataset: { testid: 'course-card' } },
    h('h2', { class: 'card-title' }, h('a', { href: `/courses/${encodeURIComponent(course.slug)}` }, course.title)),
    course.subtitle ? h('p', { class: 'subtitle' }, course.subtitle) : null,
    h('p', { class: 'meta' },
      h('span', {}, course.category?.name), ' · ',
      h('span', {}, capitalize(course.level)), ' · ',
      h('span', {}, duration(course.duration_minutes))),
    h('p', { class: 'meta' }, 'by ', course.instructor?.name),
    h('p', { class: 'price' }, money(course.price)));
}

function pagination(page, pages) {
  if (pages <= 1) return null;
  const link = (target, label, rel) => {
    const params = new URLSearchParams(location.search);
    if (target === 1) params.delete('page');
    else params.set('page', String(target));
    const search = params.toString();
    return h('a', { href: search ? `/?${search}` : '/', rel, class: 'button button-secondary' }, label);
  };
  return h('nav', { class: 'pagination', 'aria-label': 'Pagination' },
    page > 1 ? link(page - 1, '← Previous', 'prev') : h('span'),
    h('span', { 'aria-current': 'page' }, `Page ${page} of ${pages}`),
    page < pages ? link(page + 1, 'Next →', 'next') : h('span'));
}
