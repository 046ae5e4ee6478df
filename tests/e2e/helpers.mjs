// Shared pieces of the browser tests: a private souk server per test, Debian's chromium
// driven by playwright-core, an API client for setup, screenshots and page checks.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SOUK_BIN = process.env.SOUK_BIN || path.join(ROOT, 'build/souk');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'tests/e2e/screenshots');
export const OPERATOR = { email: 'op@test', password: 'operator-pass' };

function freePort() {
    return new Promise((resolve, reject) => {
        const s = createServer();
        s.unref();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

/** Starts `souk serve` on a fresh data dir with an operator; resolves {url, stop()}. */
export async function startSouk(extraArgs = []) {
    const data = await mkdtemp(path.join(tmpdir(), 'souk-e2e-'));
    await run(SOUK_BIN, ['user', 'add', '--data', data, '--email', OPERATOR.email, '--password', OPERATOR.password, '--role', 'operator'], { cwd: ROOT });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(SOUK_BIN, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d) => {
        log = (log + d).slice(-8000);
    });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 20000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`souk exited early (${child.exitCode}):\n${log}`);
        try {
            const r = await fetch(`${url}/healthz`);
            if (r.ok) break;
        } catch {
            /* not listening yet */
        }
        if (Date.now() > deadline) {
            child.kill('SIGKILL');
            throw new Error(`souk did not become healthy:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    return {
        url,
        log: () => log,
        async stop() {
            if (child.exitCode === null) {
                child.kill('SIGTERM');
                const t = setTimeout(() => child.kill('SIGKILL'), 5000);
                await exited;
                clearTimeout(t);
            }
            await rm(data, { recursive: true, force: true });
        },
    };
}

const CHROME_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

/**
 * One person's browser: its own chromium with a fresh profile directory.
 * Resolves {context, page, close()}; `viewport` defaults to a laptop.
 */
export async function openBrowser({ viewport = { width: 1280, height: 860 } } = {}) {
    const profile = await mkdtemp(path.join(tmpdir(), 'souk-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROME_ARGS,
        viewport,
        locale: 'en-US',
        timezoneId: 'Asia/Shanghai',
    });
    context.setDefaultTimeout(10000);
    const page = context.pages()[0] || (await context.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    return {
        context,
        page,
        errors,
        async close() {
            await context.close().catch(() => {});
            await rm(profile, { recursive: true, force: true });
        },
    };
}

/** JSON API client for test setup; throws with the problem's title on errors. */
export function apiClient(base) {
    return async function api(method, p, body, token, headers = {}) {
        const h = { Accept: 'application/json', ...headers };
        if (body !== undefined) h['Content-Type'] = 'application/json';
        if (token) h.Authorization = `Bearer ${token}`;
        const r = await fetch(`${base}/api/v1${p}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await r.text();
        const data = text ? JSON.parse(text) : null;
        if (!r.ok) {
            const e = new Error(`${method} ${p} → ${r.status} ${data && data.code} ${data && (data.detail || data.title)} ${data && data.errors ? JSON.stringify(data.errors) : ''}`);
            e.status = r.status;
            e.data = data;
            throw e;
        }
        return data;
    };
}

/** Sets up an approved merchant with an owner; resolves {token, merchant}. */
export async function makeMerchant(api, opToken, { email, name, kind, country }) {
    const reg = await api('POST', '/auth/register', { email, password: 'merchant-pass', name: `${name} owner` });
    const m = await api('POST', '/merchants', { name, kind, country, description: `${name}: test merchant` }, reg.token);
    await api('POST', `/merchants/${m.id}/approve`, {}, opToken);
    return { token: reg.token, merchant: m, email, password: 'merchant-pass' };
}

export async function shot(page, name) {
    await mkdir(SHOTS, { recursive: true });
    // Fonts are web fonts: wait for them so Chinese text is in the picture, not boxes.
    await page.evaluate(() => document.fonts && document.fonts.ready).catch(() => {});
    // From the top, so the sticky header is not painted over the middle of a full-page shot.
    await page.evaluate(() => window.scrollTo(0, 0)).catch(() => {});
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Signs in through the UI (token ends in localStorage). */
export async function signInUI(page, base, email, password, next = '/') {
    await page.goto(`${base}/signin?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).last().click();
    await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
}

/**
 * Page checks every test runs: no raw JSON on screen and every control has an accessible
 * name (label, aria-label or text). Resolves a list of problems (empty when fine).
 */
export async function pageProblems(page) {
    return page.evaluate(() => {
        const problems = [];
        const text = document.body.innerText;
        if (/\{\s*"(type|title|code|status|detail)"\s*:/.test(text)) problems.push('raw JSON visible on the page');
        const name = (el) => {
            if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
            const by = el.getAttribute('aria-labelledby');
            if (by) return by.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || '').join(' ');
            if (el.labels && el.labels.length) return Array.from(el.labels, (l) => l.textContent).join(' ');
            if (el.tagName === 'BUTTON' || el.tagName === 'A' || el.tagName === 'SUMMARY') return el.textContent;
            return el.getAttribute('title') || '';
        };
        for (const el of document.querySelectorAll('input, select, textarea, button, a[href], summary')) {
            if (el.type === 'hidden' || el.closest('[hidden]')) continue;
            if (!name(el).trim()) problems.push(`unlabelled ${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`);
        }
        return problems;
    });
}

/** The page is narrower than its content (horizontal scroll at phone width)? */
export async function overflowsX(page) {
    return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

/** After a failure: a screenshot of every open page of these browsers (FAIL-<who>-<n>.png). */
export async function failureShots(browsers) {
    for (const [who, b] of Object.entries(browsers)) {
        if (!b) continue;
        const pages = b.context.pages();
        for (let i = 0; i < pages.length; i++) {
            await shot(pages[i], `FAIL-${who}-${i}`).catch(() => {});
        }
    }
}
