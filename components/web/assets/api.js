// The one place the UI talks to the API: same-origin JSON calls, problem documents turned
// into `ApiProblem`s, and every response's region and server time reported to the footer.

import { problemMessage } from './problems.js';

/** A failed call, carrying the API's problem document (RFC 9457). */
export class ApiProblem extends Error {
  constructor(problem, retryAfter = null) {
    super(problemMessage(problem));
    this.type = problem.type;
    this.status = problem.status;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.retryAfter = retryAfter;
  }
}

const servedListeners = new Set();

/** Calls `listener({ region, serverMs, timings, requestId, path })` after every API response. */
export function onServed(listener) {
  servedListeners.add(listener);
}

/**
 * `server-timing: total;dur=12.3, db;dur=4.1;desc="query"` -> [{ name, dur, desc }].
 * The same shape as `PerformanceServerTiming`, so the document's own timing parses alike.
 */
export function parseServerTiming(header) {
  if (!header) return [];
  return header.split(',').map((metric) => {
    const [name, ...params] = metric.split(';').map((part) => part.trim());
    const entry = { name, dur: null, desc: '' };
    for (const param of params) {
      const [key, raw = ''] = param.split('=');
      const value = raw.trim().replace(/^"(.*)"$/, '$1');
      if (key.trim() === 'dur') entry.dur = Number(value);
      if (key.trim() === 'desc') entry.desc = value;
    }
    return entry;
  }).filter((entry) => entry.name);
}

/** The server's total time: the `total` metric, else the longest one. */
export function serverMilliseconds(timings) {
  const withDuration = timings.filter((entry) => Number.isFinite(entry.dur));
  const total = withDuration.find((entry) => entry.name === 'total');
  if (total) return total.dur;
  return withDuration.length ? Math.max(...withDuration.map((entry) => entry.dur)) : null;
}

function report(response, path) {
  const timings = parseServerTiming(response.headers.get('server-timing'));
  const served = {
    region: response.headers.get('x-served-by'),
    serverMs: serverMilliseconds(timings),
    timings,
    requestId: response.headers.get('x-request-id'),
    path,
  };
  for (const listener of servedListeners) listener(served);
}

/**
 * Calls the API. Resolves to the parsed JSON body (or null for 204); rejects with an
 * `ApiProblem` for any error status or network failure, and with an AbortError when
 * `signal` aborts.
 */
export async function api(method, path, { body, headers = {}, signal } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...headers },
    signal,
  };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiProblem({ type: 'network', status: 0, detail: error.message });
  }
  report(response, path);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const problem = data?.type
      ? data
      : { type: `http-${response.status}`, status: response.status, title: response.statusText };
    throw new ApiProblem(problem, response.headers.get('retry-after'));
  }
  return data;
}

/** Builds `/api/...?a=1&b=2`, leaving out empty values. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
