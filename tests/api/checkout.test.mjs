// Checkout: split per merchant, all-or-nothing reservation, mixed_currency, cart_empty,
// shipping address validation, Idempotency-Key replay / reuse / concurrency.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, registerShopper, makeShop, addToCart, checkout, getSku, ADDRESS, listAll,
} from './lib/harness.mjs';

let srv;
let shop1; // USD, A 1000 stock 50, B 150 stock 50
let shop2; // USD, C 300 stock 50
let eur; // EUR, E 700
before(async () => {
    srv = await startServer();
    shop1 = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 50 }, { code: 'B', price: 150, stock: 50 }] });
    shop2 = await makeShop(srv, { skus: [{ code: 'C', price: 300, stock: 50 }] });
    eur = await makeShop(srv, { currency: 'EUR', skus: [{ code: 'E', price: 700, stock: 50 }] });
});
after(async () => {
    await srv?.stop();
});

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const sku = (shop, code) => shop.skus.find((s) => s.code === code);
const post = (token, body, idem = uniq('co')) => api(srv, 'POST', '/checkout', { token, idem, body });

describe('POST /checkout', () => {
    test('one pending_payment order per merchant; stock reserved; cart emptied', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        const a = sku(shop1, 'A');
        const b = sku(shop1, 'B');
        const c = sku(shop2, 'C');
        const before = await Promise.all([a, b, c].map((s) => getSku(srv, s.id)));
        await addToCart(srv, buyer.token, a.id, 2);
        await addToCart(srv, buyer.token, b.id, 1);
        await addToCart(srv, buyer.token, c.id, 3);
        const t0 = Date.now();
        const r = await post(buyer.token, { shipping_address: ADDRESS });
        const co = want(r, 201);
        assert.equal(typeof co.id, 'string');
        assert.equal(co.status, 'pending_payment');
        assert.equal(co.total, 2 * 1000 + 150 + 3 * 300);
        assert.equal(co.currency, 'USD');
        assert.match(co.expires_at, RFC3339_UTC);
        assert.match(co.created_at, RFC3339_UTC);
        const exp = Date.parse(co.expires_at);
        assert.ok(Math.abs(exp - (t0 + 900_000)) < 10_000, `default payment window is 900 s: ${co.expires_at}`);

        assert.equal(co.orders.length, 2);
        const o1 = co.orders.find((o) => o.merchant_id === shop1.merchant.id);
        const o2 = co.orders.find((o) => o.merchant_id === shop2.merchant.id);
        assert.ok(o1 && o2, 'one order per merchant');
        for (const o of [o1, o2]) {
            assert.equal(typeof o.id, 'string');
            assert.equal(o.checkout_id, co.id);
            assert.equal(o.user_id, buyer.id);
            assert.equal(o.status, 'pending_payment');
            assert.equal(o.currency, 'USD');
            assert.match(o.created_at, RFC3339_UTC);
            assert.equal(o.expires_at, co.expires_at);
            assert.deepEqual(o.shipping_address, ADDRESS);
            assert.equal(o.paid_at ?? null, null);
            assert.deepEqual(o.history.map((h) => h.status), ['pending_payment']);
            assert.match(o.history[0].at, RFC3339_UTC);
            assert.equal(o.subtotal, o.lines.reduce((s, l) => s + l.line_total, 0));
            for (const l of o.lines) assert.equal(l.line_total, l.qty * l.unit_price);
        }
        assert.deepEqual(o1.lines.map((l) => [l.sku_id, l.qty, l.unit_price]).sort(),
            [[a.id, 2, 1000], [b.id, 1, 150]].sort());
        assert.equal(o1.lines.find((l) => l.sku_id === a.id).product_id, shop1.product.id);
        assert.equal(o1.lines.find((l) => l.sku_id === a.id).title, shop1.product.title);
        assert.equal(o1.subtotal, 2150);
        assert.deepEqual(o2.lines.map((l) => [l.sku_id, l.qty, l.unit_price]), [[c.id, 3, 300]]);
        assert.equal(o2.subtotal, 900);

        const after = await Promise.all([a, b, c].map((s) => getSku(srv, s.id)));
        for (const [i, qty] of [[0, 2], [1, 1], [2, 3]]) {
            assert.equal(after[i].reserved, before[i].reserved + qty);
            assert.equal(after[i].available, before[i].available - qty);
            assert.equal(after[i].on_hand, before[i].on_hand, 'checkout does not touch on_hand');
        }

        const cart = want(await api(srv, 'GET', '/cart', { token: buyer.token }), 200);
        assert.deepEqual(cart.items, [], 'the cart is emptied');

        const g = want(await api(srv, 'GET', `/checkout/${co.id}`, { token: buyer.token }), 200);
        assert.equal(g.id, co.id);
        assert.equal(g.status, 'pending_payment');
        assert.deepEqual(g.orders.map((o) => o.id).sort(), co.orders.map((o) => o.id).sort());
        const mine = await listAll(srv, '/orders', buyer.token);
        assert.deepEqual(mine.map((o) => o.id).sort(), co.orders.map((o) => o.id).sort());
        for (const o of co.orders) {
            const go = want(await api(srv, 'GET', `/orders/${o.id}`, { token: buyer.token }), 200);
            assert.equal(go.status, 'pending_payment');
            assert.equal(go.subtotal, o.subtotal);
        }
    });

    test('all-or-nothing: one short SKU → 409 insufficient_stock naming it, nothing reserved', async () => {
        const shop = await makeShop(srv, { skus: [{ code: 'X', price: 100, stock: 5 }, { code: 'Y', price: 100, stock: 2 }] });
        const x = sku(shop, 'X');
        const y = sku(shop, 'Y');
        const other = await makeShop(srv, { skus: [{ code: 'Z', price: 100, stock: 5 }] });
        const z = other.skus[0];
        const buyer = await registerShopper(srv, 'buyer');
        const rival = await registerShopper(srv, 'rival');
        await addToCart(srv, buyer.token, x.id, 3);
        await addToCart(srv, buyer.token, y.id, 2);
        await addToCart(srv, buyer.token, z.id, 1);
        await addToCart(srv, rival.token, y.id, 1);
        await checkout(srv, rival.token); // Y: 1 of 2 now reserved

        const r = await post(buyer.token, { shipping_address: ADDRESS });
        want(r, 409, 'insufficient_stock');
        assert.deepEqual(r.json.skus, [y.id]);
        const [sx, sy, sz] = await Promise.all([x, y, z].map((s) => getSku(srv, s.id)));
        assert.deepEqual([sx.reserved, sx.available], [0, 5], 'X untouched');
        assert.deepEqual([sy.reserved, sy.available], [1, 1], 'only the rival holds Y');
        assert.deepEqual([sz.reserved, sz.available], [0, 5], 'other merchant untouched');
        const cart = want(await api(srv, 'GET', '/cart', { token: buyer.token }), 200);
        assert.equal(cart.items.length, 3, 'a failed checkout keeps the cart');
        assert.deepEqual(await listAll(srv, '/orders', buyer.token), [], 'no orders created');

        // two short SKUs → both named
        want(await api(srv, 'PUT', `/skus/${x.id}/stock`, { token: shop.owner.token, body: { on_hand: 2 } }), 200);
        const r2 = await post(buyer.token, { shipping_address: ADDRESS });
        want(r2, 409, 'insufficient_stock');
        assert.deepEqual([...r2.json.skus].sort(), [x.id, y.id].sort());

        // fix the cart → succeeds
        want(await api(srv, 'PATCH', `/cart/items/${x.id}`, { token: buyer.token, body: { qty: 2 } }), 200);
        want(await api(srv, 'PATCH', `/cart/items/${y.id}`, { token: buyer.token, body: { qty: 1 } }), 200);
        const co = want(await post(buyer.token, { shipping_address: ADDRESS }), 201);
        assert.equal(co.orders.length, 2);
        const sy2 = await getSku(srv, y.id);
        assert.deepEqual([sy2.reserved, sy2.available], [2, 0]);
    });

    test('empty cart → 422 cart_empty', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        want(await post(buyer.token, { shipping_address: ADDRESS }), 422, 'cart_empty');
    });

    test('mixed currencies → 422 mixed_currency, nothing reserved, cart kept', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        const a = sku(shop1, 'A');
        const e = eur.skus[0];
        const [sa0, se0] = await Promise.all([getSku(srv, a.id), getSku(srv, e.id)]);
        await addToCart(srv, buyer.token, a.id, 1);
        await addToCart(srv, buyer.token, e.id, 1);
        want(await post(buyer.token, { shipping_address: ADDRESS }), 422, 'mixed_currency');
        const [sa, se] = await Promise.all([getSku(srv, a.id), getSku(srv, e.id)]);
        assert.equal(sa.reserved, sa0.reserved);
        assert.equal(se.reserved, se0.reserved);
        const cart = want(await api(srv, 'GET', '/cart', { token: buyer.token }), 200);
        assert.equal(cart.items.length, 2);
        // a single non-USD currency is fine
        want(await api(srv, 'DELETE', `/cart/items/${a.id}`, { token: buyer.token }), 200);
        const co = want(await post(buyer.token, { shipping_address: ADDRESS }), 201);
        assert.equal(co.currency, 'EUR');
        assert.equal(co.total, 700);
    });

    test('shipping_address validation → 422 naming the field', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        await addToCart(srv, buyer.token, sku(shop1, 'B').id, 1);
        const { region, postal_code, ...minimal } = ADDRESS;
        void region;
        void postal_code;
        const cases = [
            [{}, 'shipping_address'],
            [{ shipping_address: 'Main St 1' }, 'shipping_address'],
            [{ shipping_address: { ...ADDRESS, name: undefined } }, 'shipping_address.name'],
            [{ shipping_address: { ...ADDRESS, phone: undefined } }, 'shipping_address.phone'],
            [{ shipping_address: { ...ADDRESS, line1: undefined } }, 'shipping_address.line1'],
            [{ shipping_address: { ...ADDRESS, city: undefined } }, 'shipping_address.city'],
            [{ shipping_address: { ...ADDRESS, country: undefined } }, 'shipping_address.country'],
            [{ shipping_address: { ...ADDRESS, country: 'China' } }, 'shipping_address.country'],
            [{ shipping_address: { ...ADDRESS, country: 'cn' } }, 'shipping_address.country'],
        ];
        for (const [body, field] of cases) {
            const r = await post(buyer.token, body);
            wantInvalid(r, 'shipping_address');
            // the precise field should be named (shipping_address.x or shipping_address[x] style)
            const names = r.json.errors.map((e) => e.field.replace(/\[(\w+)\]/g, '.$1'));
            assert.ok(names.includes(field), `${JSON.stringify(body)} should name ${field}: ${JSON.stringify(r.json.errors)}`);
        }
        const cart = want(await api(srv, 'GET', '/cart', { token: buyer.token }), 200);
        assert.equal(cart.items.length, 1, 'rejected checkouts keep the cart');
        // region and postal_code are optional
        const co = want(await post(buyer.token, { shipping_address: minimal }), 201);
        assert.equal(co.orders[0].shipping_address.city, ADDRESS.city);
    });
});

describe('Idempotency-Key on POST /checkout', () => {
    test('same key + same body → first answer again with Idempotent-Replayed: true; no second reservation', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        const a = sku(shop1, 'A');
        await addToCart(srv, buyer.token, a.id, 2);
        const key = uniq('idem');
        const body = { shipping_address: ADDRESS };
        const r1 = await post(buyer.token, body, key);
        const co = want(r1, 201);
        assert.notEqual(r1.headers.get('idempotent-replayed'), 'true');
        const s1 = await getSku(srv, a.id);

        // the cart is now empty, yet the replay answers the first 201 again
        const r2 = await post(buyer.token, body, key);
        want(r2, 201);
        assert.equal(r2.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(r2.json, r1.json);
        const s2 = await getSku(srv, a.id);
        assert.equal(s2.reserved, s1.reserved, 'replay reserved nothing');
        assert.equal((await listAll(srv, '/orders', buyer.token)).length, co.orders.length);

        // same key, different body → 422 idempotency_key_reused
        const r3 = await post(buyer.token, { shipping_address: { ...ADDRESS, city: 'Shanghai' } }, key);
        want(r3, 422, 'idempotency_key_reused');
        // same key on a different path (with a body valid there) → reused too, and nothing is paid
        const r4 = await api(srv, 'POST', `/checkout/${co.id}/pay`, { token: buyer.token, idem: key, body: { method: 'sandbox' } });
        want(r4, 422, 'idempotency_key_reused');
        const after = want(await api(srv, 'GET', `/checkout/${co.id}`, { token: buyer.token }), 200);
        assert.equal(after.status, 'pending_payment');
    });

    test('keys are scoped to the caller', async () => {
        const b1 = await registerShopper(srv, 'buyer');
        const b2 = await registerShopper(srv, 'buyer');
        const key = uniq('shared');
        await addToCart(srv, b1.token, sku(shop2, 'C').id, 1);
        await addToCart(srv, b2.token, sku(shop2, 'C').id, 1);
        const c1 = want(await post(b1.token, { shipping_address: ADDRESS }, key), 201);
        const r2 = await post(b2.token, { shipping_address: ADDRESS }, key);
        const c2 = want(r2, 201);
        assert.notEqual(r2.headers.get('idempotent-replayed'), 'true');
        assert.notEqual(c2.id, c1.id);
        assert.equal(c2.orders[0].user_id, b2.id);
    });

    test('error answers are not stored: a retry with the same key runs again', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        const key = uniq('retry');
        want(await post(buyer.token, { shipping_address: ADDRESS }, key), 422, 'cart_empty');
        await addToCart(srv, buyer.token, sku(shop2, 'C').id, 1);
        const r = await post(buyer.token, { shipping_address: ADDRESS }, key);
        want(r, 201);
        assert.notEqual(r.headers.get('idempotent-replayed'), 'true');
    });

    test('two concurrent requests with one key create one checkout', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        const c = sku(shop2, 'C');
        await addToCart(srv, buyer.token, c.id, 1);
        const s0 = await getSku(srv, c.id);
        const key = uniq('race');
        const body = { shipping_address: ADDRESS };
        const rs = await Promise.all([post(buyer.token, body, key), post(buyer.token, body, key)]);
        const ok = rs.filter((r) => r.status === 201);
        assert.ok(ok.length >= 1, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
        for (const r of rs) {
            if (r.status !== 201) want(r, 409, 'idempotency_in_progress');
        }
        if (ok.length === 2) {
            assert.equal(ok[0].json.id, ok[1].json.id, 'both answers are the same checkout');
            assert.ok(ok.some((r) => r.headers.get('idempotent-replayed') === 'true'));
        }
        const s1 = await getSku(srv, c.id);
        assert.equal(s1.reserved, s0.reserved + 1);
        assert.equal((await listAll(srv, '/orders', buyer.token)).length, 1);
    });

    test('invalid keys → 422 invalid', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        await addToCart(srv, buyer.token, sku(shop2, 'C').id, 1);
        for (const key of ['k'.repeat(256), 'tab\there', 'naïve']) {
            const r = await api(srv, 'POST', '/checkout', {
                token: buyer.token, headers: { 'idempotency-key': key }, body: { shipping_address: ADDRESS },
            }).catch((e) => ({ clientError: e }));
            if (r.clientError) continue; // fetch refuses some header values itself; nothing reached the server
            want(r, 422, 'invalid');
        }
        const cart = want(await api(srv, 'GET', '/cart', { token: buyer.token }), 200);
        assert.equal(cart.items.length, 1, 'nothing happened');
    });
});
