// The one door to souk's HTTP API (/api/v1). Every call goes through api(), which adds the
// bearer token, turns application/problem+json answers into ApiError, and never lets raw
// JSON reach the page: pages show err.title / err.detail / err.errors[].
import { getToken, signOutLocal } from './store.js';

export const API_BASE = '/api/v1';

// Titles for when an answer carries no readable title (a proxy's HTML page, an empty body).
const STATUS_TITLES = {
    0: 'Cannot reach souk',
    400: 'The request was not understood',
    401: 'Please sign in',
    402: 'Payment declined',
    403: 'You are not allowed to do that',
    404: 'Not found',
    405: 'Not supported here',
    409: 'That conflicts with the current state',
    413: 'That is too large',
    422: 'Please check the form',
    429: 'Too many requests, try again shortly',
    500: 'Something went wrong on the server',
    502: 'souk is not answering',
    503: 'souk is busy or restarting, try again shortly',
};

export class ApiError extends Error {
    constructor(status, problem) {
        const p = problem && typeof problem === 'object' ? problem : {};
        const title =
            (typeof p.title === 'string' && p.title) ||
            STATUS_TITLES[status] ||
            `Request failed (${status})`;
        super(title);
        this.name = 'ApiError';
        this.status = status;
        this.title = title;
        this.code = typeof p.code === 'string' ? p.code : '';
        this.detail = typeof p.detail === 'string' ? p.detail : '';
        this.errors = Array.isArray(p.errors)
            ? p.errors
                  .filter((e) => e && typeof e === 'object')
                  .map((e) => ({ field: String(e.field ?? ''), message: String(e.message ?? '') }))
            : [];
        this.skus = Array.isArray(p.skus) ? p.skus.map(String) : [];
    }

    /** The message for one form field, or '' (matches "skus[0].price" and "skus.0.price"). */
    fieldMessage(field) {
        const norm = (f) => f.replace(/\[(\d+)\]/g, '.$1');
        const want = norm(field);
        const hit = this.errors.find((e) => norm(e.field) === want);
        return hit ? hit.message : '';
    }
}

/**
 * True when the endpoint itself is not on this server (yet): 404 for an unknown path, 405
 * for a path that exists only with other methods, 501. Pages show a calm empty state then.
 */
export function isMissingEndpoint(err) {
    return !!err && (err.status === 404 || err.status === 405 || err.status === 501);
}

/** A fresh Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
export function newIdempotencyKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * Calls the API. `path` is under /api/v1 ("/products?limit=5"). Resolves with the parsed
 * JSON (null for an empty body); rejects with ApiError, or with the AbortError of `signal`.
 */
export async function api(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
    let res;
    try {
        res = await fetch(API_BASE + path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: opts.signal,
        });
    } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        throw new ApiError(0, {
            title: STATUS_TITLES[0],
            detail: 'The network request failed. Check your connection and try again.',
        });
    }
    const text = await res.text();
    let data = null;
    if (text) {
        try {
            data = JSON.parse(text);
        } catch {
            data = null;
        }
    }
    if (!res.ok) {
        const err = new ApiError(res.status, data);
        // A token the server no longer knows: forget it so the UI offers sign-in again.
        if (res.status === 401 && token && err.code !== 'bad_credentials') signOutLocal();
        throw err;
    }
    return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

/** Builds "?a=1&b=2" from an object, skipping empty values. */
export function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
        if (v === undefined || v === null || v === '') continue;
        u.set(k, String(v));
    }
    const s = u.toString();
    return s ? `?${s}` : '';
}

/** Reads `{items, next_cursor}` lists (and bare arrays, for endpoints that answer one). */
export function listItems(data) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data.items)) return data.items;
    return [];
}

/** Fetches every page of a list, up to `max` items. */
export async function getAll(path, max = 500) {
    const out = [];
    let cursor = null;
    const sep = path.includes('?') ? '&' : '?';
    for (;;) {
        const page = await get(
            `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        out.push(...listItems(page));
        cursor = page && page.next_cursor;
        if (!cursor || out.length >= max) break;
    }
    return out;
}

export { getToken };
