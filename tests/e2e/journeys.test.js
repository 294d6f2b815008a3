// End-to-end journeys of the browser UI: headless Chromium (Debian's package) driven by
// playwright-core against the real app served by spin-test-host. `run.sh` starts the app on
// a fresh migrated and seeded database and sets E2E_BASE_URL and the admin's credentials.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = process.env.E2E_BASE_URL;
const ADMIN_EMAIL = process.env.E2E_ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD;
const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const PASSWORD = 'correct horse battery staple';
const GOOD_CARD = '4242 4242 4242 4242';
const DECLINED_CARD = '4000000000000002';
/** Generous bound for the asynchronous enrollment (the page polls with backoff). */
const ENROLLMENT_TIMEOUT_MS = 30_000;

assert.ok(BASE_URL, 'E2E_BASE_URL must point at the running app (tests/e2e/run.sh sets it)');

let browser;

before(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

/**
 * A fresh browser context (own cookies) and page. Page errors and console errors other
 * than failed API responses (which the UI handles) fail the test at the end.
 */
async function openPage(t, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ baseURL: BASE_URL, viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      errors.push(`console: ${message.text()}`);
    }
  });
  t.after(async () => {
    await context.close();
  });
  return {
    page,
    assertNoErrors: () => assert.deepEqual(errors, [], 'the page logged errors'),
  };
}

async function ready(page) {
  await page.waitForSelector('html[data-ready="true"]');
  await page.waitForFunction(() => !document.querySelector('main')?.hasAttribute('aria-busy'));
}

async function goto(page, url) {
  await page.goto(url);
  await ready(page);
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

function uniqueEmail(prefix) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

async function register(page, name, email) {
  await goto(page, '/register');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: `Log out (${name})` }).waitFor();
}

/** Opens the first paid course of the catalog and adds it to the cart; returns its title. */
async function addPaidCourseToCart(page) {
  await goto(page, '/?min_price=5&sort=price_asc');
  const firstCard = page.getByTestId('course-card').first().getByRole('link');
  const title = (await firstCard.textContent()).trim();
  await firstCard.click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  await page.getByTestId('add-to-cart').click();
  await page.getByTestId('cart-status').getByText('Added to your cart').waitFor();
  await page.getByTestId('nav-cart').getByText('Cart (1)').waitFor();
  return title;
}

async function footerText(page) {
  const footer = page.getByTestId('served-by');
  await footer.filter({ hasText: 'Served by' }).waitFor();
  return footer.textContent();
}

test('browse and search the catalog, with filters and pages in the URL', async (t) => {
  const { page, assertNoErrors } = await openPage(t);
  await goto(page, '/');
  await page.getByTestId('course-card').first().waitFor();
  assert.equal(await page.getByTestId('course-card').count(), 12);
  assert.match(await page.getByTestId('result-count').textContent(), /\d+ courses · page 1 of \d+/);
  assert.match(await footerText(page), /Served by .+/);
  await screenshot(page, 'catalog');

  // Search: the query lands in the URL and every result matches it.
  await page.getByLabel('Search', { exact: true }).fill('kubernetes');
  await page.getByLabel('Search', { exact: true }).press('Enter');
  await page.waitForURL(/\?q=kubernetes$/);
  await ready(page);
  assert.equal(await page.getByLabel('Sort by').inputValue(), 'relevance');
  await page.getByRole('heading', { level: 1, name: /kubernetes/i }).waitFor();
  const titles = await page.getByTestId('course-card').getByRole('heading').allTextContents();
  assert.ok(titles.length > 0, 'search finds Kubernetes courses');
  // Ranked by relevance: a course with the term in its title comes first.
  assert.match(titles[0], /kubernetes/i, `the best match is about Kubernetes: ${titles}`);
  await screenshot(page, 'search');

  // Filter by level: the URL keeps the search and adds the level.
  await page.getByLabel('Level').selectOption('beginner');
  await page.waitForURL(/level=beginner/);
  await ready(page);
  assert.match(page.url(), /q=kubernetes/);
  const metas = await page.getByTestId('course-card').locator('.meta').first().allTextContents();
  assert.ok(metas.every((meta) => meta.includes('Beginner')), `only beginner courses: ${metas}`);

  // Pagination over the whole catalog, and Back restores the previous page.
  await goto(page, '/');
  const firstPageTitle = await page.getByTestId('course-card').first().getByRole('heading').textContent();
  await page.getByRole('link', { name: 'Next →' }).click();
  await page.waitForURL(/page=2/);
  await ready(page);
  assert.match(await page.getByTestId('result-count').textContent(), /page 2 of/);
  assert.notEqual(await page.getByTestId('course-card').first().getByRole('heading').textContent(), firstPageTitle);
  await page.goBack();
  await ready(page);
  assert.equal(await page.getByTestId('course-card').first().getByRole('heading').textContent(), firstPageTitle);

  // A reload of a deep link serves the same app.
  await goto(page, '/?q=kubernetes&level=beginner');
  assert.equal(await page.getByLabel('Level').inputValue(), 'beginner');
  assertNoErrors();
});

test('a student registers, buys a course with one payment, and sees it enrolled', async (t) => {
  const { page, assertNoErrors } = await openPage(t);
  await register(page, 'Grace Student', uniqueEmail('grace'));
  const title = await addPaidCourseToCart(page);
  await screenshot(page, 'course');

  await page.getByTestId('nav-cart').click();
  await page.getByTestId('cart-items').getByText(title).waitFor();
  await screenshot(page, 'cart');
  await page.getByRole('link', { name: 'Check out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Checkout' }).waitFor();

  const checkoutKeys = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/api/checkout') && request.method() === 'POST') {
      checkoutKeys.push(request.headers()['idempotency-key']);
    }
  });
  await page.getByLabel('Card number').fill(GOOD_CARD);
  await screenshot(page, 'checkout');
  // A double click must not buy twice.
  await page.getByTestId('pay').dblclick();

  await page.waitForURL(/\/my-courses\?order=/);
  await page.locator('[data-testid="order-status"][data-status="enrolled"]').waitFor({ timeout: ENROLLMENT_TIMEOUT_MS });
  await page.getByTestId('enrollments').getByRole('link', { name: title }).waitFor();
  await screenshot(page, 'my-courses');

  assert.equal(checkoutKeys.length, 1, 'one checkout request was sent');
  assert.match(checkoutKeys[0], /^[0-9a-f-]{36}$/);
  const orders = await (await page.request.get('/api/orders')).json();
  assert.equal(orders.items.length, 1, 'exactly one order');
  assert.equal(orders.items[0].status, 'enrolled');
  assert.equal((await page.getByTestId('nav-cart').textContent()).trim(), 'Cart');
  assertNoErrors();
});

test('a declined card shows an error and enrolls nobody', async (t) => {
  const { page, assertNoErrors } = await openPage(t);
  await register(page, 'Dee Clined', uniqueEmail('declined'));
  await addPaidCourseToCart(page);
  await goto(page, '/checkout');
  await page.getByLabel('Card number').fill(DECLINED_CARD);
  await page.getByTestId('pay').click();
  const alert = page.getByTestId('checkout-status').getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /card was declined/i);
  assert.equal(await page.getByTestId('pay').isEnabled(), true, 'the student can try another card');
  await screenshot(page, 'checkout-declined');

  await page.getByRole('link', { name: 'My courses' }).click();
  await page.getByTestId('no-enrollments').waitFor();
  const enrollments = await (await page.request.get('/api/me/enrollments')).json();
  assert.deepEqual(enrollments.items, []);
  const orders = await (await page.request.get('/api/orders')).json();
  assert.deepEqual(orders.items.map((order) => order.status), ['payment_failed']);
  assertNoErrors();
});

test('an admin edits a course and the catalog shows the change', async (t) => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'E2E_ADMIN_EMAIL and E2E_ADMIN_PASSWORD are set by run.sh');
  const { page, assertNoErrors } = await openPage(t);
  await goto(page, '/login?next=%2Fadmin%2Fcourses');
  await page.getByLabel('Email').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Manage courses' }).waitFor();

  await page.getByLabel('Search published courses').fill('guitar');
  await page.getByLabel('Search published courses').press('Enter');
  await page.waitForURL(/admin\/courses\?q=guitar/);
  await ready(page);
  await page.locator('.admin-table tbody a').first().click();
  await page.getByRole('heading', { level: 1, name: /^Edit/ }).waitFor();

  const marker = `Zeppelin${Date.now().toString(36)}`;
  const newTitle = `Guitar Heroics ${marker}`;
  await page.getByLabel('Title', { exact: true }).fill(newTitle);
  await page.getByLabel('Price').fill('42.00');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByTestId('editor-status').getByText('Saved.').waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'admin-editor');

  // The public catalog finds the course by its new title and shows the new price.
  await goto(page, `/?q=${marker}`);
  const card = page.getByTestId('course-card').filter({ hasText: newTitle });
  await card.waitFor();
  assert.match(await card.textContent(), /\$42\.00/);
  await card.getByRole('link').click();
  await page.getByRole('heading', { level: 1, name: newTitle }).waitFor();
  assert.match(await page.getByTestId('course-price').textContent(), /\$42\.00/);
  assertNoErrors();
});

test('works on a narrow screen and by keyboard', async (t) => {
  const { page, assertNoErrors } = await openPage(t, { viewport: { width: 375, height: 740 } });
  await goto(page, '/');
  await page.getByTestId('course-card').first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
  await screenshot(page, 'catalog-narrow');

  // The first Tab reaches the skip link, which moves focus to the content.
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => document.activeElement?.textContent === 'Skip to content');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'main');

  // Every form control on the catalog has a label.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('main input, main select')]
    .filter((control) => !control.labels?.length).map((control) => control.name));
  assert.deepEqual(unlabelled, []);
  assertNoErrors();
});
