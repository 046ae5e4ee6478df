// Conventions: problem+json errors, bad_json, invalid, too_large, 404/405, lists and cursors,
// /healthz and /metrics.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, checkProblem, uniq, registerShopper, createMerchant, makeShop, addToCart,
    ADDRESS, listAll,
} from './lib/harness.mjs';

let srv;
let shopper;
let shop;
before(async () => {
    srv = await startServer();
    shopper = await registerShopper(srv);
    shop = await makeShop(srv);
});
after(async () => {
    await srv?.stop();
});

describe('health and metrics', () => {
    test('GET /healthz → 200 {"status":"ok"}', async () => {
        const r = await api(srv, 'GET', '/healthz');
        assert.equal(r.status, 200);
        assert.deepEqual(r.json, { status: 'ok' });
    });
    test('GET /metrics → Prometheus text format', async () => {
        const r = await api(srv, 'GET', '/metrics');
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type') || '', /^text\/plain/);
        assert.match(r.text, /^# (HELP|TYPE) \w+/m);
        for (const line of r.text.split('\n')) {
            if (line === '' || line.startsWith('#')) continue;
            assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+]?(\d+(\.\d+)?([eE][-+]?\d+)?|NaN|\+Inf|-Inf)( \d+)?$/,
                `metrics line: ${line}`);
        }
    });
});

describe('request bodies', () => {
    const auth = () => ({ token: shopper.token });
    const endpoints = () => [
        ['POST', '/auth/register', {}],
        ['POST', '/auth/login', {}],
        ['POST', '/merchants', auth()],
        ['POST', '/cart/items', auth()],
        ['POST', '/checkout', { ...auth(), idem: uniq('k') }],
        ['POST', '/categories', { token: srv.operatorToken }],
        ['PUT', `/merchants/${shop.merchant.id}/commission`, { token: srv.operatorToken }],
        ['PATCH', `/products/${shop.product.id}`, { token: shop.owner.token }],
        ['PUT', `/skus/${shop.skus[0].id}/stock`, { token: shop.owner.token }],
    ];

    test('malformed JSON → 400 bad_json', async () => {
        for (const raw of ['{"email":', '{email: "x"}', "{'a': 1}", '{"a":1} trailing', '{"a":1,}', 'nope']) {
            for (const [m, p, o] of endpoints()) {
                want(await api(srv, m, p, { ...o, rawBody: raw }), 400, 'bad_json');
            }
        }
    });

    test('invalid UTF-8 → 400 bad_json', async () => {
        const raw = Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('@x.io","password":"password1","name":"A"}')]);
        want(await api(srv, 'POST', '/auth/register', { rawBody: raw }), 400, 'bad_json');
    });

    test('valid JSON that is not an object, empty bodies, deep nesting → 4xx, never 5xx', async () => {
        for (const raw of ['[]', '"x"', 'null', '42', '', '['.repeat(100000) + ']'.repeat(100000)]) {
            const r = await api(srv, 'POST', '/auth/register', { rawBody: raw });
            assert.ok([400, 422].includes(r.status), `${JSON.stringify(raw.slice(0, 20))} → ${r.status} ${r.text.slice(0, 200)}`);
        }
        want(await api(srv, 'GET', '/healthz'), 200);
    });

    test('wrong field types → 422 invalid with errors[].field', async () => {
        const cases = [
            ['POST', '/auth/register', {}, { email: 1, password: 'password1', name: 'A' }, 'email'],
            ['POST', '/auth/register', {}, { email: `${uniq('t')}@x.io`, password: true, name: 'A' }, 'password'],
            ['POST', '/merchants', auth(), { name: { x: 1 }, kind: 'sme', country: 'DE' }, 'name'],
            ['POST', '/merchants', auth(), { name: 'A', kind: 3, country: 'DE' }, 'kind'],
            ['POST', '/cart/items', auth(), { sku_id: shop.skus[0].id, qty: '1' }, 'qty'],
            ['POST', '/cart/items', auth(), { sku_id: 12, qty: 1 }, 'sku_id'],
            ['POST', '/checkout', { ...auth(), idem: uniq('k') }, { shipping_address: 7 }, 'shipping_address'],
            ['POST', '/categories', { token: srv.operatorToken }, { name: 5 }, 'name'],
            ['POST', '/categories', { token: srv.operatorToken }, { name: 'x', parent_id: 5.5 }, 'parent_id'],
            ['PUT', `/merchants/${shop.merchant.id}/commission`, { token: srv.operatorToken }, { commission_bp: '1' }, 'commission_bp'],
            ['PATCH', `/products/${shop.product.id}`, { token: shop.owner.token }, { title: false }, 'title'],
            ['PUT', `/skus/${shop.skus[0].id}/stock`, { token: shop.owner.token }, { on_hand: '5' }, 'on_hand'],
            ['POST', '/products', { token: shop.owner.token },
                { merchant_id: shop.merchant.id, category_id: shop.category.id, title: 'x', skus: 'many' }, 'skus'],
        ];
        await addToCart(srv, shopper.token, shop.skus[0].id, 1); // so /checkout has something to validate
        for (const [m, p, o, body, field] of cases) {
            const j = wantInvalid(await api(srv, m, p, { ...o, body }), field);
            for (const e of j.errors) {
                assert.equal(typeof e.field, 'string');
                assert.equal(typeof e.message, 'string');
                assert.ok(e.message.length > 0);
            }
        }
    });

    test('body over 1 MiB → 413 too_large; just under 1 MiB is parsed', async () => {
        const big = JSON.stringify({ email: 'a@b.io', password: 'password1', name: 'x'.repeat(1.5 * 1024 * 1024) });
        want(await api(srv, 'POST', '/auth/register', { rawBody: big }), 413, 'too_large');
        const bigProduct = JSON.stringify({
            merchant_id: shop.merchant.id, category_id: shop.category.id, title: 'big', description: 'd'.repeat(1.5 * 1024 * 1024),
            skus: [{ code: 'A', price: 1, currency: 'USD', stock: 1 }],
        });
        want(await api(srv, 'POST', '/products', { token: shop.owner.token, rawBody: bigProduct }), 413, 'too_large');
        // the server is fine afterwards
        want(await api(srv, 'GET', '/healthz'), 200);
        // 1 MiB − 1 KiB of valid JSON whose name is too long: the body is read, the field is rejected
        const under = JSON.stringify({ email: `${uniq('u')}@b.io`, password: 'password1', name: 'x'.repeat(1024 * 1024 - 1024) });
        wantInvalid(await api(srv, 'POST', '/auth/register', { rawBody: under }), 'name');
    });
});

describe('routing', () => {
    test('unknown path → 404 not_found', async () => {
        for (const p of ['/api/v1/nope', '/api/v1/merchants/1/nope', '/api/v2/me', '/nope', '/api/v1/orders/1/teleport']) {
            want(await api(srv, 'GET', p, { token: shopper.token }), 404, 'not_found');
        }
        want(await api(srv, 'POST', '/api/v1/nope', { token: shopper.token, body: {} }), 404, 'not_found');
    });

    test('known path, wrong method → 405 method_not_allowed', async () => {
        const cases = [
            ['DELETE', '/me'],
            ['PUT', '/auth/login'],
            ['GET', '/auth/register'],
            ['DELETE', '/checkout'],
            ['PATCH', '/categories'],
            ['DELETE', `/merchants/${shop.merchant.id}`],
            ['GET', `/merchants/${shop.merchant.id}/approve`],
            ['POST', `/skus/${shop.skus[0].id}`],
            ['GET', `/skus/${shop.skus[0].id}/stock`],
            ['PUT', '/cart'],
            ['GET', '/orders/1/cancel'],
        ];
        for (const [m, p] of cases) {
            const body = ['GET', 'DELETE'].includes(m) ? undefined : {};
            want(await api(srv, m, p, { token: srv.operatorToken, body }), 405, 'method_not_allowed');
        }
    });
});

describe('lists', () => {
    test('limit outside 1..100 or not a number → 422 invalid; bogus cursor → 422 invalid', async () => {
        const lists = [['/merchants', undefined], ['/products', undefined], ['/orders', shopper.token]];
        for (const [p, token] of lists) {
            for (const l of ['0', '101', 'abc', '-1', '1.5']) {
                want(await api(srv, 'GET', `${p}?limit=${l}`, { token }), 422, 'invalid');
            }
            for (const l of ['1', '100']) want(await api(srv, 'GET', `${p}?limit=${l}`, { token }), 200);
            want(await api(srv, 'GET', `${p}?cursor=not-one-of-ours`, { token }), 422, 'invalid');
        }
        // ledgers are lists too? only if they page; the contract does not say so, not checked here.
    });

    test('default limit 20; cursors walk newest first without gaps or repeats', async () => {
        const owner = await registerShopper(srv, 'owner');
        const created = [];
        for (let i = 0; i < 23; i++) created.push((await createMerchant(srv, owner.token, { kind: 'crossborder' })).id);
        const first = want(await api(srv, 'GET', '/merchants?kind=crossborder', { token: srv.operatorToken }), 200);
        assert.equal(first.items.length, 20, 'default limit is 20');
        assert.equal(typeof first.next_cursor, 'string');

        const seen = [];
        let cursor = null;
        let pages = 0;
        for (;;) {
            const q = `/merchants?kind=crossborder&limit=7${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`;
            const page = want(await api(srv, 'GET', q, { token: srv.operatorToken }), 200);
            pages += 1;
            assert.ok(page.items.length <= 7);
            seen.push(...page.items.map((m) => m.id));
            assert.ok('next_cursor' in page);
            if (page.next_cursor === null) break;
            assert.equal(typeof page.next_cursor, 'string');
            cursor = page.next_cursor;
            assert.ok(pages < 10);
        }
        assert.equal(pages, 4, '23 items in pages of 7');
        assert.deepEqual(seen, [...created].reverse(), 'newest first, each once');
        const all = await listAll(srv, '/merchants?kind=crossborder', srv.operatorToken, { limit: 100 });
        assert.equal(all.length, 23);
    });

    test('a cursor from a filtered list keeps working after new items arrive', async () => {
        const owner = await registerShopper(srv, 'owner');
        for (let i = 0; i < 3; i++) await createMerchant(srv, owner.token, { kind: 'individual' });
        const p1 = want(await api(srv, 'GET', '/merchants?kind=individual&limit=2', { token: srv.operatorToken }), 200);
        await createMerchant(srv, owner.token, { kind: 'individual' });
        const p2 = want(await api(srv, 'GET', `/merchants?kind=individual&limit=2&cursor=${encodeURIComponent(p1.next_cursor)}`,
            { token: srv.operatorToken }), 200);
        assert.equal(p2.items.length, 1, 'the new merchant is newer than the cursor, so it is not on later pages');
        assert.ok(!p1.items.some((m) => p2.items.some((n) => n.id === m.id)));
    });
});

describe('errors', () => {
    test('every error is application/problem+json with type, title, status, code', async () => {
        const s = await registerShopper(srv);
        const rs = [
            await api(srv, 'GET', '/me'),
            await api(srv, 'GET', '/me', { token: 'bogus' }),
            await api(srv, 'POST', '/categories', { token: s.token, body: { name: 'x' } }),
            await api(srv, 'GET', '/products/999999999999'),
            await api(srv, 'GET', '/api/v1/definitely/not/here'),
            await api(srv, 'PUT', '/auth/login', { body: {} }),
            await api(srv, 'POST', '/auth/register', { rawBody: '{' }),
            await api(srv, 'POST', '/auth/register', { body: { email: 'x' } }),
            await api(srv, 'POST', '/auth/login', { body: { email: 'nobody@x.io', password: 'password1' } }),
            await api(srv, 'POST', '/checkout', { token: s.token, idem: uniq('k'), body: { shipping_address: ADDRESS } }),
            await api(srv, 'POST', '/auth/register', { rawBody: JSON.stringify({ name: 'y'.repeat(2 << 20) }) }),
        ];
        const statuses = rs.map((r) => r.status);
        assert.deepEqual(statuses, [401, 401, 403, 404, 404, 405, 400, 422, 401, 422, 413]);
        for (const r of rs) {
            checkProblem(r);
            assert.ok(r.json.title.length > 0);
        }
        assert.deepEqual(rs.map((r) => r.json.code), ['unauthorized', 'unauthorized', 'forbidden', 'not_found', 'not_found',
            'method_not_allowed', 'bad_json', 'invalid', 'bad_credentials', 'cart_empty', 'too_large']);
    });

    test('success answers are application/json; ids are strings; money is integer', async () => {
        const r = await api(srv, 'GET', `/products/${shop.product.id}`);
        want(r, 200);
        assert.match(r.headers.get('content-type') || '', /^application\/json/);
        assert.equal(typeof r.json.id, 'string');
        assert.equal(typeof r.json.merchant_id, 'string');
        for (const s of r.json.skus) {
            assert.equal(typeof s.id, 'string');
            assert.ok(Number.isInteger(s.price));
        }
    });
});
