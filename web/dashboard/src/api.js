// Talking to the broker's dashboard API (docs/dashboard-api.md) and formatting its values.

/** An API failure: status is the HTTP status (0 when the request did not reach the server). */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * One API call. Writes (anything but GET) carry the headers the server demands of a same-site
 * write: Content-Type: application/json and X-Ramjet-Dashboard: 1. Resolves to the JSON answer,
 * rejects with an ApiError holding the server's `error` text.
 */
export async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    init.headers['X-Ramjet-Dashboard'] = '1';
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `${method} ${path}: the server did not answer (${err.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    if (res.ok) throw new ApiError(res.status, `${method} ${path}: the answer is not JSON`);
  }
  if (!res.ok) {
    const why = data && typeof data.error === 'string' ? data.error : `${res.status} ${res.statusText}`.trim();
    throw new ApiError(res.status, why);
  }
  return data;
}

export const get = path => request('GET', path);
export const post = (path, body) => request('POST', path, body === undefined ? {} : body);
export const del = path => request('DELETE', path);

/** A path segment or query value. */
export const enc = encodeURIComponent;

/** '/api/x?a=1&b=2', leaving out empty values. */
export function withQuery(path, params) {
  const q = Object.entries(params)
    .filter(([ , v ]) => v !== undefined && v !== null && v !== '')
    .map(([ k, v ]) => `${enc(k)}=${enc(v)}`)
    .join('&');
  return q ? `${path}?${q}` : path;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Milliseconds since the epoch as local 'YYYY-MM-DD HH:MM:SS.mmm'; '' for 0 or nothing. */
export function fmtTime(ms) {
  const n = Number(ms);
  if (!n) return '';
  const d = new Date(n);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A local time as a datetime-local input value ('YYYY-MM-DDTHH:MM'). */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local input value as milliseconds since the epoch (NaN if empty or invalid). */
export function fromLocalInput(value) {
  return value ? new Date(value).getTime() : NaN;
}

export function fmtNum(n) {
  if (n === undefined || n === null || n === '') return '';
  const x = Number(n);
  return Number.isFinite(x) ? x.toLocaleString('en-US') : String(n);
}

export function fmtTps(x) {
  const n = Number(x);
  return Number.isFinite(n) ? n.toFixed(n >= 100 ? 0 : 2) : '';
}

/** A disk ratio (0..1) as a percentage; other values as they are. */
export function fmtRatio(x) {
  const n = Number(x);
  if (x === undefined || x === null || x === '' || !Number.isFinite(n)) return x === undefined || x === null ? '' : String(x);
  return n <= 1 ? `${(n * 100).toFixed(1)} %` : String(x);
}

export function fmtBytes(n) {
  const x = Number(n);
  if (!Number.isFinite(x)) return '';
  if (x < 1024) return `${x} B`;
  if (x < 1024 * 1024) return `${(x / 1024).toFixed(1)} KiB`;
  return `${(x / 1024 / 1024).toFixed(1)} MiB`;
}

/** Permission bits as RocketMQ writes them: 6 = RW, 4 = R, 2 = W. */
export function fmtPerm(p) {
  const n = Number(p);
  return `${n & 4 ? 'R' : '-'}${n & 2 ? 'W' : '-'}${n & 1 ? 'X' : ''} (${n})`;
}

export const yesNo = b => (b === true || b === 'true' ? 'yes' : b === false || b === 'false' ? 'no' : '');

/** Any value as text for a table cell. */
export function show(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
