// Black-box harness for souk's HTTP API tests.
//
// Every test file starts its own server(s) on a free port with a fresh data
// directory, and stops them in an `after` hook. A server's stdout+stderr go to
// a log file under $TMPDIR/souk-api-logs/ whose path appears in every failure
// the harness raises, so a failing run can be debugged after the fact.
//
// Environment:
//   SOUK_BIN        the binary (default: <repo>/build/souk)
//   SOUK_KEEP_DATA  =1 keeps data directories after a clean stop
import { spawn, execFile } from 'node:child_process';
import { AssertionError } from 'node:assert';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const SOUK_BIN = process.env.SOUK_BIN || path.join(REPO, 'build/souk');
export const LOG_DIR = path.join(os.tmpdir(), 'souk-api-logs');

export const OPERATOR = { email: 'op@test', password: 'operator-pass' };
export const COURIER = { email: 'courier@test', password: 'courier-pass' };
export const DECLINED_CARD = '4000000000000002';

// Safety net: whatever happens to the test process, no server outlives it.
const running = new Set();
process.on('exit', () => {
    for (const p of running) {
        try {
            p.kill('SIGKILL');
        } catch {
            /* already gone */
        }
    }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let uniqCounter = 0;
/** A string unique across files, processes and runs (for emails, names, keys). */
export function uniq(prefix = 'u') {
    uniqCounter += 1;
    const rnd = Math.random().toString(36).slice(2, 8);
    return `${prefix}-${process.pid}-${uniqCounter}-${rnd}`;
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.unref();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

/** Runs a `souk` sub-command to completion; rejects with its output on failure. */
export function runCli(args, { timeout = 60000 } = {}) {
    return new Promise((resolve, reject) => {
        execFile(SOUK_BIN, args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
            if (err) {
                reject(
                    new Error(
                        `souk ${args.join(' ')} failed (${err.code ?? err.signal}):\n` +
                            `stdout: ${stdout}\nstderr: ${stderr}`,
                    ),
                );
            } else {
                resolve({ stdout, stderr });
            }
        });
    });
}

function logTail(logPath, bytes = 4000) {
    try {
        const buf = fs.readFileSync(logPath);
        return buf.subarray(Math.max(0, buf.length - bytes)).toString();
    } catch {
        return '(no log)';
    }
}

function waitExit(proc, ms) {
    return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
            resolve({ code: proc.exitCode, signal: proc.signalCode, timedOut: false });
            return;
        }
        const t = setTimeout(() => resolve({ timedOut: true }), ms);
        proc.once('exit', (code, signal) => {
            clearTimeout(t);
            resolve({ code, signal, timedOut: false });
        });
    });
}

class Server {
    constructor(opts, dataDir, logPath) {
        this.opts = opts;
        this.dataDir = dataDir;
        this.logPath = logPath;
        this.proc = null;
        this.url = null;
        this.port = null;
        this.operatorToken = null;
        this.courierToken = null;
        this.shopperTokens = [];
    }

    describe() {
        return `server ${this.url ?? '(not started)'} data=${this.dataDir} log=${this.logPath}`;
    }

    async spawn() {
        this.port = await freePort();
        this.url = `http://127.0.0.1:${this.port}`;
        const args = ['serve', '--data', this.dataDir, '--listen', `127.0.0.1:${this.port}`];
        if (this.opts.paymentWindow != null) args.push('--payment-window', String(this.opts.paymentWindow));
        if (this.opts.livePaymentWindow != null)
            args.push('--live-payment-window', String(this.opts.livePaymentWindow));
        if (this.opts.extraArgs) args.push(...this.opts.extraArgs);
        const fd = fs.openSync(this.logPath, 'a');
        fs.writeSync(fd, `\n==== ${new Date().toISOString()} souk ${args.join(' ')}\n`);
        const proc = spawn(SOUK_BIN, args, { stdio: ['ignore', fd, fd] });
        fs.closeSync(fd);
        this.proc = proc;
        running.add(proc);
        proc.once('exit', () => running.delete(proc));
        let spawnError = null;
        proc.once('error', (e) => {
            spawnError = e;
        });

        const deadline = Date.now() + 10000;
        for (;;) {
            if (spawnError) throw new Error(`cannot spawn ${SOUK_BIN}: ${spawnError.message}`);
            if (proc.exitCode !== null || proc.signalCode !== null) {
                throw new Error(
                    `souk serve exited early (code ${proc.exitCode}, signal ${proc.signalCode}); ` +
                        `${this.describe()}\n${logTail(this.logPath)}`,
                );
            }
            try {
                const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
                await r.arrayBuffer();
                if (r.status === 200) break;
            } catch {
                /* not listening yet */
            }
            if (Date.now() > deadline) {
                proc.kill('SIGKILL');
                await waitExit(proc, 5000);
                throw new Error(`GET /healthz not 200 within 10 s; ${this.describe()}\n${logTail(this.logPath)}`);
            }
            await sleep(50);
        }
    }

    async loginOperators() {
        if (!this.opts.seedOperator) return;
        this.operatorToken = await login(this, OPERATOR.email, OPERATOR.password);
        this.courierToken = await login(this, COURIER.email, COURIER.password);
    }

    /**
     * SIGTERM and wait (10 s) for the exit; keeps the data directory. Returns
     * {code, signal}; throws if the process does not exit in time.
     */
    async terminate() {
        const proc = this.proc;
        if (!proc) return { code: null, signal: null };
        this.proc = null;
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
        const r = await waitExit(proc, 10000);
        if (r.timedOut) {
            proc.kill('SIGKILL');
            await waitExit(proc, 5000);
            throw new Error(`souk did not exit within 10 s of SIGTERM; ${this.describe()}\n${logTail(this.logPath)}`);
        }
        return { code: r.code, signal: r.signal };
    }

    /** SIGTERM; the contract says the server drains and exits 0. Removes a temp data dir. */
    async stop() {
        if (!this.proc) return;
        const r = await this.terminate();
        if (r.code !== 0) {
            throw new Error(
                `souk exited with code ${r.code} signal ${r.signal} after SIGTERM (want 0); ` +
                    `${this.describe()}\n${logTail(this.logPath)}`,
            );
        }
        if (!process.env.SOUK_KEEP_DATA && this.opts.ownsDataDir) {
            fs.rmSync(this.dataDir, { recursive: true, force: true });
        }
    }

    /** SIGKILL, as a crash would. The data directory is kept for restart(). */
    async kill9() {
        const proc = this.proc;
        if (!proc) return;
        this.proc = null;
        proc.kill('SIGKILL');
        await waitExit(proc, 10000);
    }

    /** Serves the same data directory again (on a new port; `url` is updated). */
    async restart() {
        if (this.proc) throw new Error('restart() while the server is still running');
        await this.spawn();
        await this.loginOperators();
    }

    logTail(bytes) {
        return logTail(this.logPath, bytes);
    }
}

/**
 * Starts `souk serve` on a free port.
 *   paymentWindow, livePaymentWindow: seconds (omitted → server defaults)
 *   dataDir: reuse a directory (default: a fresh mkdtemp, removed after a clean stop)
 *   seedOperator (default true): `user add` an operator op@test and a courier
 *                                courier@test before serving; their tokens end up
 *                                in server.operatorToken / server.courierToken
 *   seedShoppers: N → `user seed --count N`; tokens in server.shopperTokens
 */
export async function startServer(opts = {}) {
    opts = { seedOperator: true, ...opts };
    fs.mkdirSync(LOG_DIR, { recursive: true });
    let dataDir = opts.dataDir;
    if (!dataDir) {
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'souk-api-'));
        opts.ownsDataDir = true;
    }
    const label = path.basename(process.argv[1] || 'souk').replace(/\W+/g, '_');
    const logPath = path.join(LOG_DIR, `${label}-${Date.now()}-${process.pid}-${uniqCounter++}.log`);
    const server = new Server(opts, dataDir, logPath);

    if (opts.seedOperator) {
        await runCli(['user', 'add', '--data', dataDir, '--email', OPERATOR.email, '--password',
            OPERATOR.password, '--role', 'operator', '--name', 'Operator']);
        await runCli(['user', 'add', '--data', dataDir, '--email', COURIER.email, '--password',
            COURIER.password, '--role', 'courier', '--name', 'Courier']);
    }
    if (opts.seedShoppers) {
        const out = path.join(dataDir, '..', `${path.basename(dataDir)}-tokens.txt`);
        await runCli(['user', 'seed', '--data', dataDir, '--count', String(opts.seedShoppers), '--out', out]);
        server.shopperTokens = fs.readFileSync(out, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
        fs.rmSync(out, { force: true });
        if (server.shopperTokens.length !== opts.seedShoppers) {
            throw new Error(`user seed --count ${opts.seedShoppers} wrote ${server.shopperTokens.length} tokens`);
        }
    }
    await server.spawn();
    try {
        await server.loginOperators();
    } catch (e) {
        await server.kill9();
        throw e;
    }
    return server;
}

// ---------------------------------------------------------------------------
// HTTP

function fullUrl(server, p) {
    if (/^\/(api\/|healthz|metrics)/.test(p)) return server.url + p;
    return server.url + '/api/v1' + p;
}

/**
 * One HTTP call. Returns {status, headers, json, text, method, path}.
 *   token   → Authorization: Bearer
 *   body    → JSON-encoded; rawBody → sent as is (content-type application/json
 *             unless headers say otherwise)
 *   idem    → Idempotency-Key
 * Every 4xx/5xx answer is checked to be application/problem+json with
 * type, title, status (= the HTTP status) and code; pass problemCheck:false to skip.
 */
export async function api(server, method, p, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.idem != null) headers['idempotency-key'] = opts.idem;
    let body;
    if (opts.rawBody !== undefined) {
        body = opts.rawBody;
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
            headers['content-type'] = 'application/json';
    } else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
    }
    const res = await fetch(fullUrl(server, p), {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(opts.timeout ?? 20000),
    });
    const text = await res.text();
    let json = null;
    try {
        json = text ? JSON.parse(text) : null;
    } catch {
        json = undefined; // not JSON at all
    }
    const out = { status: res.status, headers: res.headers, json, text, method, path: p };
    if (res.status >= 400 && opts.problemCheck !== false) checkProblem(out);
    return out;
}

/** Throws unless `res` is a well-formed problem+json error. */
export function checkProblem(res) {
    const ct = res.headers.get('content-type') || '';
    const j = res.json;
    const bad = [];
    if (!ct.toLowerCase().startsWith('application/problem+json')) bad.push(`content-type is "${ct}"`);
    if (!j || typeof j !== 'object') bad.push('body is not a JSON object');
    else {
        for (const f of ['type', 'title', 'code']) if (typeof j[f] !== 'string' || !j[f]) bad.push(`no string "${f}"`);
        if (j.status !== res.status) bad.push(`"status" is ${JSON.stringify(j.status)}, HTTP status ${res.status}`);
    }
    if (bad.length) {
        throw new AssertionError({
            message: `${res.method} ${res.path} → ${res.status} is not a valid problem+json (${bad.join('; ')}): ` +
                res.text.slice(0, 300),
        });
    }
}

/** Asserts status (and problem code); returns res.json. */
export function want(res, status, code) {
    const statuses = Array.isArray(status) ? status : [status];
    if (!statuses.includes(res.status) || (code && res.json?.code !== code)) {
        throw new AssertionError({
            message: `${res.method} ${res.path}: expected ${statuses.join('|')}${code ? ' ' + code : ''}, ` +
                `got ${res.status} ${res.text.slice(0, 600)}`,
            actual: res.status,
            expected: status,
        });
    }
    return res.json;
}

/** Asserts a 422 invalid whose errors[] names `field` (exactly or as a prefix path). */
export function wantInvalid(res, field) {
    want(res, 422, 'invalid');
    const errs = res.json.errors;
    if (!Array.isArray(errs) || errs.length === 0 || !errs.every((e) => typeof e.field === 'string' && typeof e.message === 'string')) {
        throw new AssertionError({ message: `${res.method} ${res.path}: 422 without errors[{field,message}]: ${res.text}` });
    }
    if (field && !errs.some((e) => e.field === field || e.field.startsWith(field + '.') || e.field.startsWith(field + '['))) {
        throw new AssertionError({
            message: `${res.method} ${res.path}: errors[] does not name "${field}": ${JSON.stringify(errs)}`,
        });
    }
    return res.json;
}

/** Walks a list endpoint with ?cursor= and returns every item. */
export async function listAll(server, p, token, { limit = 100 } = {}) {
    const items = [];
    let cursor = null;
    for (let i = 0; i < 10000; i++) {
        const sep = p.includes('?') ? '&' : '?';
        const q = `${p}${sep}limit=${limit}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`;
        const page = want(await api(server, 'GET', q, { token }), 200);
        items.push(...page.items);
        if (page.next_cursor == null) return items;
        cursor = page.next_cursor;
    }
    throw new Error(`listAll ${p}: too many pages`);
}

/** A merchant's whole ledger: {balance, items} with every page of items. */
export async function ledgerAll(server, merchantId, token) {
    const first = want(await api(server, 'GET', `/merchants/${merchantId}/ledger?limit=100`, { token }), 200);
    const items = [...first.items];
    let cursor = first.next_cursor;
    for (let i = 0; cursor != null && i < 10000; i++) {
        const page = want(await api(server, 'GET',
            `/merchants/${merchantId}/ledger?limit=100&cursor=${encodeURIComponent(cursor)}`, { token }), 200);
        items.push(...page.items);
        cursor = page.next_cursor;
    }
    return { balance: first.balance, items };
}

// ---------------------------------------------------------------------------
// Fixtures

export async function login(server, email, password) {
    const r = want(await api(server, 'POST', '/auth/login', { body: { email, password } }), 200);
    return r.token;
}

/** Registers a fresh shopper: {id, email, password, name, token, user}. */
export async function registerShopper(server, prefix = 'shopper') {
    const email = `${uniq(prefix)}@example.test`;
    const password = 'correct-horse-1';
    const name = `${prefix} user`;
    const r = want(await api(server, 'POST', '/auth/register', { body: { email, password, name } }), 201);
    return { id: r.user.id, email, password, name, token: r.token, user: r.user };
}

export async function createMerchant(server, token, fields = {}) {
    const body = { name: uniq('Shop'), kind: 'sme', country: 'CN', ...fields };
    return want(await api(server, 'POST', '/merchants', { token, body }), 201);
}

export async function approveMerchant(server, merchantId) {
    return want(await api(server, 'POST', `/merchants/${merchantId}/approve`, { token: server.operatorToken }), 200);
}

export async function createActiveMerchant(server, token, fields = {}) {
    const m = await createMerchant(server, token, fields);
    return approveMerchant(server, m.id);
}

export async function addStaff(server, merchantId, token, email) {
    return want(await api(server, 'POST', `/merchants/${merchantId}/staff`, { token, body: { email } }), 201);
}

export async function createCategory(server, name = uniq('Cat'), parentId) {
    const body = { name };
    if (parentId !== undefined) body.parent_id = parentId;
    return want(await api(server, 'POST', '/categories', { token: server.operatorToken, body }), 201);
}

/** skus: [{code?, price, currency?, stock, price_tiers?, moq?, attrs?}] */
export async function createProduct(server, token, { merchant_id, category_id, title, skus, ...rest }) {
    const body = {
        merchant_id,
        category_id,
        title: title ?? uniq('Product'),
        skus: skus.map((s, i) => ({ code: `SKU-${i}`, currency: 'USD', ...s })),
        ...rest,
    };
    return want(await api(server, 'POST', '/products', { token, body }), 201);
}

/**
 * A ready-to-sell shop: a fresh owner, an active merchant, a category and one
 * product. Returns {owner, merchant, category, product, skus: [sku...]}.
 */
export async function makeShop(server, { skus = [{ price: 1000, stock: 100 }], currency = 'USD', active = true,
    owner, category, merchant: mfields = {} } = {}) {
    owner = owner ?? (await registerShopper(server, 'owner'));
    let merchant = await createMerchant(server, owner.token, mfields);
    if (active) merchant = await approveMerchant(server, merchant.id);
    category = category ?? (await createCategory(server));
    const product = await createProduct(server, owner.token, {
        merchant_id: merchant.id,
        category_id: category.id,
        skus: skus.map((s) => ({ currency, ...s })),
    });
    return { owner, merchant, category, product, skus: product.skus };
}

export const ADDRESS = Object.freeze({
    name: 'Li Lei',
    phone: '+86 138 0000 0000',
    line1: '1 Market Street',
    city: 'Hangzhou',
    region: 'Zhejiang',
    postal_code: '310000',
    country: 'CN',
});

export async function addToCart(server, token, skuId, qty = 1) {
    return want(await api(server, 'POST', '/cart/items', { token, body: { sku_id: skuId, qty } }), 200);
}

export async function clearCart(server, token) {
    const cart = want(await api(server, 'GET', '/cart', { token }), 200);
    for (const it of cart.items) want(await api(server, 'DELETE', `/cart/items/${it.sku_id}`, { token }), 200);
}

export async function checkout(server, token, { idem = uniq('co'), address = ADDRESS } = {}) {
    return want(await api(server, 'POST', '/checkout', { token, idem, body: { shipping_address: address } }), 201);
}

export async function payCheckout(server, token, checkoutId, { card, idem = uniq('pay') } = {}) {
    const body = { method: 'sandbox' };
    if (card) body.card = card;
    return want(await api(server, 'POST', `/checkout/${checkoutId}/pay`, { token, idem, body }), 200);
}

/** Cart (emptied first) → checkout of `qty` of `skuId`; returns the checkout. */
export async function buy(server, token, skuId, qty = 1) {
    await clearCart(server, token);
    await addToCart(server, token, skuId, qty);
    return checkout(server, token);
}

export async function getSku(server, skuId, token) {
    return want(await api(server, 'GET', `/skus/${skuId}`, { token }), 200);
}

export async function getOrder(server, orderId, token) {
    return want(await api(server, 'GET', `/orders/${orderId}`, { token: token ?? server.operatorToken }), 200);
}

/** Runs `fn` over `items` with at most `n` in flight. */
export async function pool(items, n, fn) {
    const results = new Array(items.length);
    let next = 0;
    async function worker() {
        while (next < items.length) {
            const i = next++;
            results[i] = await fn(items[i], i);
        }
    }
    await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
    return results;
}
