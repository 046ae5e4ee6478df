// Merchant programs: POST/GET /programs, GET /programs/{id}, POST /programs/{id}/enroll —
// access, validation, eligibility, and the program window on new orders' commission
// (order.commission_bp and the ledger's commission entry after payment).
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, sleep, registerShopper, createActiveMerchant,
    createCategory, createProduct, addToCart, clearCart, checkout, payCheckout, getOrder, ledgerAll,
} from './lib/harness.mjs';

let srv;
let shopper;
let owner;
let category;
const H = 3600 * 1000;
const iso = (ms) => new Date(ms).toISOString();

before(async () => {
    srv = await startServer();
    shopper = await registerShopper(srv, 'prog-shopper');
    owner = await registerShopper(srv, 'prog-owner');
    category = await createCategory(srv, uniq('Programs'));
});
after(async () => {
    await srv?.stop();
});

function programBody(over = {}) {
    const now = Date.now();
    return {
        name: uniq('Spring for rural shops'),
        commission_bp: 200,
        boost: 1.2,
        eligible_kinds: ['rural', 'sme'],
        starts_at: iso(now - H),
        ends_at: iso(now + H),
        ...over,
    };
}

async function createProgram(over = {}) {
    return want(await api(srv, 'POST', '/programs', { token: srv.operatorToken, body: programBody(over) }), 201);
}

async function enroll(programId, merchantId) {
    return want(await api(srv, 'POST', `/programs/${programId}/enroll`, {
        token: srv.operatorToken, body: { merchant_id: merchantId },
    }), 200);
}

/** An active merchant of `kind` with one product at `price` (USD). */
async function shopOf(kind, price = 10000) {
    const m = await createActiveMerchant(srv, owner.token, { kind });
    const p = await createProduct(srv, owner.token, {
        merchant_id: m.id, category_id: category.id, title: uniq('Program goods'), skus: [{ price, stock: 1000 }],
    });
    return { merchant: m, product: p, sku: p.skus[0] };
}

/** A checkout of one unit; returns its (only) order as GET /orders/{id} shows it. */
async function orderOne(shop) {
    await clearCart(srv, shopper.token);
    await addToCart(srv, shopper.token, shop.sku.id, 1);
    const co = await checkout(srv, shopper.token);
    assert.equal(co.orders.length, 1);
    return { co, order: await getOrder(srv, co.orders[0].id) };
}

const commissionOf = (subtotal, bp) => Math.floor((subtotal * bp + 5000) / 10000);

/** Pays the checkout and checks the ledger's commission entry for the order against bp. */
async function payAndCheckLedger(shop, co, orderId, bp) {
    await payCheckout(srv, shopper.token, co.id);
    const o = await getOrder(srv, orderId);
    assert.equal(o.status, 'paid');
    assert.equal(o.commission_bp, bp, 'the commission rate does not change on payment');
    assert.equal(Math.abs(o.commission), commissionOf(o.subtotal, bp));
    const l = await ledgerAll(srv, shop.merchant.id, owner.token);
    const mine = l.items.filter((e) => e.order_id === orderId);
    assert.deepEqual(mine.filter((e) => e.kind === 'commission').map((e) => e.amount), [-commissionOf(o.subtotal, bp)],
        `ledger commission of order ${orderId} at ${bp} bp`);
    assert.deepEqual(mine.filter((e) => e.kind === 'sale').map((e) => e.amount), [o.subtotal]);
}

describe('access', () => {
    test('create and enroll: 401 anonymous, 403 shopper / merchant owner / courier; reading: any signed-in user', async () => {
        const p = await createProgram();
        const m = await createActiveMerchant(srv, owner.token, { kind: 'rural' });
        const body = programBody();
        want(await api(srv, 'POST', '/programs', { body }), 401, 'unauthorized');
        want(await api(srv, 'POST', '/programs', { body, token: 'not-a-token' }), 401, 'unauthorized');
        want(await api(srv, 'POST', '/programs', { body, token: shopper.token }), 403, 'forbidden');
        want(await api(srv, 'POST', '/programs', { body, token: owner.token }), 403, 'forbidden');
        want(await api(srv, 'POST', '/programs', { body, token: srv.courierToken }), 403, 'forbidden');
        // 403 comes before validation for a caller who may never create programs
        want(await api(srv, 'POST', '/programs', { body: { name: '' }, token: shopper.token }), 403, 'forbidden');

        const eb = { merchant_id: m.id };
        want(await api(srv, 'POST', `/programs/${p.id}/enroll`, { body: eb }), 401, 'unauthorized');
        want(await api(srv, 'POST', `/programs/${p.id}/enroll`, { body: eb, token: shopper.token }), 403, 'forbidden');
        want(await api(srv, 'POST', `/programs/${p.id}/enroll`, { body: eb, token: owner.token }), 403, 'forbidden');
        want(await api(srv, 'POST', `/programs/${p.id}/enroll`, { body: eb, token: srv.courierToken }), 403, 'forbidden');
        const g = want(await api(srv, 'GET', `/programs/${p.id}`, { token: srv.operatorToken }), 200);
        assert.deepEqual(g.merchant_ids, [], 'refused enrollments changed nothing');

        want(await api(srv, 'GET', '/programs'), 401, 'unauthorized');
        want(await api(srv, 'GET', `/programs/${p.id}`), 401, 'unauthorized');
        for (const token of [shopper.token, owner.token, srv.courierToken, srv.operatorToken]) {
            const list = want(await api(srv, 'GET', '/programs', { token }), 200);
            assert.ok(list.items.some((x) => x.id === p.id));
            assert.equal(list.next_cursor, null);
            assert.equal(want(await api(srv, 'GET', `/programs/${p.id}`, { token }), 200).id, p.id);
        }
        want(await api(srv, 'GET', '/programs/999999999999', { token: shopper.token }), 404, 'not_found');
        want(await api(srv, 'POST', '/programs/999999999999/enroll', { token: srv.operatorToken, body: eb }), 404, 'not_found');
    });
});

describe('POST /programs', () => {
    test('201: the program as sent, boost defaulting to 1.0, active inside its window; newest first in GET /programs', async () => {
        const body = programBody({ boost: 1.5, eligible_kinds: ['factory', 'rural'] });
        const p = await createProgram(body);
        assert.equal(typeof p.id, 'string');
        assert.equal(p.name, body.name);
        assert.equal(p.commission_bp, 200);
        assert.equal(p.boost, 1.5);
        assert.deepEqual([...p.eligible_kinds].sort(), ['factory', 'rural']);
        assert.equal(Date.parse(p.starts_at), Date.parse(body.starts_at));
        assert.equal(Date.parse(p.ends_at), Date.parse(body.ends_at));
        assert.equal(p.active, true);
        assert.deepEqual(p.merchant_ids, []);
        assert.equal(typeof p.created_at, 'string');

        const q = await createProgram({ boost: undefined }); // absent from the JSON
        assert.equal(q.boost, 1.0);
        const past = await createProgram({ starts_at: iso(Date.now() - 3 * H), ends_at: iso(Date.now() - 2 * H) });
        assert.equal(past.active, false);
        const future = await createProgram({ starts_at: iso(Date.now() + 2 * H), ends_at: iso(Date.now() + 3 * H) });
        assert.equal(future.active, false);

        const list = want(await api(srv, 'GET', '/programs', { token: shopper.token }), 200);
        const order = list.items.map((x) => x.id);
        assert.ok(order.indexOf(future.id) < order.indexOf(past.id) && order.indexOf(past.id) < order.indexOf(q.id) &&
            order.indexOf(q.id) < order.indexOf(p.id), 'newest first');
        assert.deepEqual(want(await api(srv, 'GET', `/programs/${p.id}`, { token: shopper.token }), 200), p);
    });

    test('Idempotency-Key: a retry replays the first program', async () => {
        const idem = uniq('prog-idem');
        const body = programBody();
        const a = await api(srv, 'POST', '/programs', { token: srv.operatorToken, body, idem });
        want(a, 201);
        const b = await api(srv, 'POST', '/programs', { token: srv.operatorToken, body, idem });
        want(b, 201);
        assert.equal(b.json.id, a.json.id);
        assert.equal(b.headers.get('idempotent-replayed'), 'true');
        want(await api(srv, 'POST', '/programs', { token: srv.operatorToken, body: { ...body, name: 'other' }, idem }),
            422, 'idempotency_key_reused');
    });

    const now = Date.now();
    const BAD = [
        [{ commission_bp: -1 }, 'commission_bp'],
        [{ commission_bp: 10001 }, 'commission_bp'],
        [{ commission_bp: 1.5 }, 'commission_bp'],
        [{ commission_bp: '100' }, 'commission_bp'],
        [{ commission_bp: undefined }, 'commission_bp'],
        [{ boost: 1.51 }, 'boost'],
        [{ boost: 2 }, 'boost'],
        [{ boost: 0.99 }, 'boost'],
        [{ boost: 0 }, 'boost'],
        [{ boost: '1.2' }, 'boost'],
        [{ eligible_kinds: [] }, 'eligible_kinds'],
        [{ eligible_kinds: undefined }, 'eligible_kinds'],
        [{ eligible_kinds: 'rural' }, 'eligible_kinds'],
        [{ eligible_kinds: ['rural', 'bogus'] }, 'eligible_kinds'],
        [{ eligible_kinds: [7] }, 'eligible_kinds'],
        [{ starts_at: iso(now), ends_at: iso(now) }, 'ends_at'],
        [{ starts_at: iso(now + H), ends_at: iso(now) }, 'ends_at'],
        [{ starts_at: 'tomorrow' }, 'starts_at'],
        [{ ends_at: '2026-02-30T00:00:00' }, 'ends_at'],
        [{ starts_at: undefined }, 'starts_at'],
        [{ ends_at: 1234567890 }, 'ends_at'],
        [{ name: '' }, 'name'],
        [{ name: undefined }, 'name'],
        [{ name: 'x'.repeat(121) }, 'name'],
    ];
    for (const [over, field] of BAD) {
        const label = Object.entries(over).map(([k, v]) => (v === undefined ? `${k} missing` : `${k}=${JSON.stringify(v)}`)).join(', ');
        test(`${label} → 422 naming ${field}`, async () => {
            const body = programBody(over);
            for (const k of Object.keys(over)) if (over[k] === undefined) delete body[k];
            wantInvalid(await api(srv, 'POST', '/programs', { token: srv.operatorToken, body }), field);
        });
    }

    test('bad JSON → 400; the boundaries 0 and 10000 bp, boost 1.0 and 1.5 are accepted', async () => {
        want(await api(srv, 'POST', '/programs', { token: srv.operatorToken, rawBody: '{"name":' }), 400, 'bad_json');
        for (const [bp, boost] of [[0, 1.0], [10000, 1.5]]) {
            const p = await createProgram({ commission_bp: bp, boost });
            assert.equal(p.commission_bp, bp);
            assert.equal(p.boost, boost);
        }
    });
});

describe('POST /programs/{id}/enroll', () => {
    test('an eligible merchant is enrolled once; a non-eligible kind or an unknown merchant → 422 merchant_id', async () => {
        const p = await createProgram({ eligible_kinds: ['rural'] });
        const rural = await createActiveMerchant(srv, owner.token, { kind: 'rural' });
        const brand = await createActiveMerchant(srv, owner.token, { kind: 'brand' });
        const r1 = await enroll(p.id, rural.id);
        assert.deepEqual(r1.merchant_ids, [rural.id]);
        const r2 = await enroll(p.id, rural.id);
        assert.deepEqual(r2.merchant_ids, [rural.id], 'enrolling twice changes nothing');

        const tok = { token: srv.operatorToken };
        wantInvalid(await api(srv, 'POST', `/programs/${p.id}/enroll`, { ...tok, body: { merchant_id: brand.id } }), 'merchant_id');
        wantInvalid(await api(srv, 'POST', `/programs/${p.id}/enroll`, { ...tok, body: { merchant_id: '999999999999' } }), 'merchant_id');
        wantInvalid(await api(srv, 'POST', `/programs/${p.id}/enroll`, { ...tok, body: {} }), 'merchant_id');
        wantInvalid(await api(srv, 'POST', `/programs/${p.id}/enroll`, { ...tok, body: { merchant_id: 'abc' } }), 'merchant_id');
        want(await api(srv, 'POST', `/programs/${p.id}/enroll`, { ...tok, rawBody: 'nope' }), 400, 'bad_json');
        const g = want(await api(srv, 'GET', `/programs/${p.id}`, tok), 200);
        assert.deepEqual(g.merchant_ids, [rural.id]);
    });
});

describe('the program window and commission', () => {
    test('an order before enrollment keeps 500 bp (also when paid later); a new order while active gets the program\'s bp', async () => {
        const shop = await shopOf('rural');
        const p = await createProgram({ commission_bp: 200, eligible_kinds: ['rural'] });

        const before1 = await orderOne(shop);
        assert.equal(before1.order.commission_bp, 500, 'not enrolled yet: the merchant\'s own rate');
        assert.equal(before1.co.orders[0].commission_bp, 500);

        await enroll(p.id, shop.merchant.id);
        const during = await orderOne(shop);
        assert.equal(during.order.commission_bp, 200, 'enrolled, program active: the program\'s rate');
        assert.equal(during.co.orders[0].commission_bp, 200);
        assert.equal(Math.abs(during.order.commission), commissionOf(10000, 200));

        // the earlier order keeps the rate it was created with, even when paid now
        await payAndCheckLedger(shop, before1.co, before1.order.id, 500);
        await payAndCheckLedger(shop, during.co, during.order.id, 200);

        // the merchant's own rate is unchanged
        const m = want(await api(srv, 'GET', `/merchants/${shop.merchant.id}`, { token: owner.token }), 200);
        assert.equal(m.commission_bp, 500);
    });

    test('a program whose window has ended, or has not started, leaves new orders at 500 bp', async () => {
        const now = Date.now();
        const past = await createProgram({ commission_bp: 100, starts_at: iso(now - 3 * H), ends_at: iso(now - H) });
        const future = await createProgram({ commission_bp: 100, starts_at: iso(now + H), ends_at: iso(now + 2 * H) });
        const a = await shopOf('sme');
        const b = await shopOf('sme');
        assert.equal((await enroll(past.id, a.merchant.id)).active, false);
        assert.equal((await enroll(future.id, b.merchant.id)).active, false);
        const oa = await orderOne(a);
        const ob = await orderOne(b);
        assert.equal(oa.order.commission_bp, 500, 'ended program');
        assert.equal(ob.order.commission_bp, 500, 'program not started');
        await payAndCheckLedger(a, oa.co, oa.order.id, 500);
        await payAndCheckLedger(b, ob.co, ob.order.id, 500);
    });

    test('the window is live: before starts_at 500 bp, inside it the program\'s bp, from ends_at 500 bp again', async () => {
        const shop = await shopOf('rural', 7000);
        const start = Date.now() + 1500;
        const end = start + 1500;
        const p = await createProgram({ commission_bp: 150, eligible_kinds: ['rural'], starts_at: iso(start), ends_at: iso(end) });
        await enroll(p.id, shop.merchant.id);
        const o1 = await orderOne(shop);
        assert.ok(Date.now() < start - 100, 'the first order was placed before the window');
        assert.equal(o1.order.commission_bp, 500, 'before starts_at');

        await sleep(Math.max(0, start - Date.now()) + 200);
        const g = want(await api(srv, 'GET', `/programs/${p.id}`, { token: owner.token }), 200);
        assert.equal(g.active, true);
        const o2 = await orderOne(shop);
        assert.ok(Date.now() < end - 100, 'the second order was placed inside the window');
        assert.equal(o2.order.commission_bp, 150, 'inside the window');

        await sleep(Math.max(0, end - Date.now()) + 200);
        assert.equal(want(await api(srv, 'GET', `/programs/${p.id}`, { token: owner.token }), 200).active, false);
        const o3 = await orderOne(shop);
        assert.equal(o3.order.commission_bp, 500, 'from ends_at on');

        await payAndCheckLedger(shop, o1.co, o1.order.id, 500);
        await payAndCheckLedger(shop, o2.co, o2.order.id, 150);
        await payAndCheckLedger(shop, o3.co, o3.order.id, 500);
    });

    test('the lowest rate wins: a program above the merchant\'s own rate changes nothing; two programs → the lower', async () => {
        const shop = await shopOf('crossborder');
        want(await api(srv, 'PUT', `/merchants/${shop.merchant.id}/commission`, {
            token: srv.operatorToken, body: { commission_bp: 300 },
        }), 200);
        const high = await createProgram({ commission_bp: 800, eligible_kinds: ['crossborder'] });
        await enroll(high.id, shop.merchant.id);
        assert.equal((await orderOne(shop)).order.commission_bp, 300, 'own 300 < program 800');
        const low = await createProgram({ commission_bp: 120, eligible_kinds: ['crossborder', 'brand'] });
        const mid = await createProgram({ commission_bp: 250, eligible_kinds: ['crossborder'] });
        await enroll(low.id, shop.merchant.id);
        await enroll(mid.id, shop.merchant.id);
        const o = await orderOne(shop);
        assert.equal(o.order.commission_bp, 120);
        await payAndCheckLedger(shop, o.co, o.order.id, 120);
    });

    test('a program only affects the merchants enrolled in it', async () => {
        const enrolled = await shopOf('sme');
        const other = await shopOf('sme');
        const p = await createProgram({ commission_bp: 50, eligible_kinds: ['sme'] });
        await enroll(p.id, enrolled.merchant.id);
        assert.equal((await orderOne(other)).order.commission_bp, 500);
        assert.equal((await orderOne(enrolled)).order.commission_bp, 50);
    });
});
