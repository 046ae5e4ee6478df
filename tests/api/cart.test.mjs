// Cart: GET, add, set qty, remove, totals, mixed currencies, stock checks.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, want, wantInvalid, registerShopper, makeShop, addToCart, getSku } from './lib/harness.mjs';

let srv;
let shop; // USD: A 1000 (stock 20), B 250 (stock 3)
let eurShop; // EUR: 700
before(async () => {
    srv = await startServer();
    shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 20 }, { code: 'B', price: 250, stock: 3 }] });
    eurShop = await makeShop(srv, { currency: 'EUR', skus: [{ code: 'E', price: 700, stock: 10 }] });
});
after(async () => {
    await srv?.stop();
});

const A = () => shop.skus.find((s) => s.code === 'A');
const B = () => shop.skus.find((s) => s.code === 'B');

describe('cart', () => {
    test('a new cart is empty', async () => {
        const s = await registerShopper(srv);
        const c = want(await api(srv, 'GET', '/cart', { token: s.token }), 200);
        assert.deepEqual(c.items, []);
        assert.equal(c.totals.qty, 0);
    });

    test('add → line with product, merchant, price; adding again sums the qty', async () => {
        const s = await registerShopper(srv);
        let c = await addToCart(srv, s.token, A().id, 2);
        assert.equal(c.items.length, 1);
        const l = c.items[0];
        assert.equal(l.sku_id, A().id);
        assert.equal(l.product_id, shop.product.id);
        assert.equal(l.merchant_id, shop.merchant.id);
        assert.equal(l.title, shop.product.title);
        assert.equal(l.code, 'A');
        assert.equal(l.qty, 2);
        assert.equal(l.unit_price, 1000);
        assert.equal(l.line_total, 2000);
        assert.equal(l.currency, 'USD');
        c = await addToCart(srv, s.token, A().id, 3);
        assert.equal(c.items.length, 1);
        assert.equal(c.items[0].qty, 5);
        c = await addToCart(srv, s.token, B().id, 1);
        assert.equal(c.items.length, 2);
        assert.deepEqual(c.totals, { qty: 6, subtotal: 5 * 1000 + 250, currency: 'USD' });
        const again = want(await api(srv, 'GET', '/cart', { token: s.token }), 200);
        assert.deepEqual(again, c);
    });

    test('a cart does not reserve stock', async () => {
        const s = await registerShopper(srv);
        const before = await getSku(srv, A().id);
        await addToCart(srv, s.token, A().id, 4);
        const after = await getSku(srv, A().id);
        assert.equal(after.available, before.available);
        assert.equal(after.reserved, before.reserved);
    });

    test('carts are per user', async () => {
        const s1 = await registerShopper(srv);
        const s2 = await registerShopper(srv);
        await addToCart(srv, s1.token, A().id, 1);
        const c2 = want(await api(srv, 'GET', '/cart', { token: s2.token }), 200);
        assert.deepEqual(c2.items, []);
    });

    test('PATCH sets qty, 0 removes; DELETE removes; SKU not in the cart → 404', async () => {
        const s = await registerShopper(srv);
        await addToCart(srv, s.token, A().id, 2);
        await addToCart(srv, s.token, B().id, 1);
        let c = want(await api(srv, 'PATCH', `/cart/items/${A().id}`, { token: s.token, body: { qty: 7 } }), 200);
        assert.equal(c.items.find((l) => l.sku_id === A().id).qty, 7);
        c = want(await api(srv, 'PATCH', `/cart/items/${A().id}`, { token: s.token, body: { qty: 0 } }), 200);
        assert.deepEqual(c.items.map((l) => l.sku_id), [B().id]);
        c = want(await api(srv, 'DELETE', `/cart/items/${B().id}`, { token: s.token }), 200);
        assert.deepEqual(c.items, []);
        want(await api(srv, 'DELETE', `/cart/items/${B().id}`, { token: s.token }), 404, 'not_found');
        want(await api(srv, 'PATCH', `/cart/items/${A().id}`, { token: s.token, body: { qty: 1 } }), 404, 'not_found');
        want(await api(srv, 'DELETE', '/cart/items/999999999999', { token: s.token }), 404, 'not_found');
    });

    test('qty and sku_id validation', async () => {
        const s = await registerShopper(srv);
        for (const qty of [0, -1, 100001, 1.5, '1', null]) {
            wantInvalid(await api(srv, 'POST', '/cart/items', { token: s.token, body: { sku_id: A().id, qty } }), 'qty');
        }
        wantInvalid(await api(srv, 'POST', '/cart/items', { token: s.token, body: { sku_id: A().id } }), 'qty');
        wantInvalid(await api(srv, 'POST', '/cart/items', { token: s.token, body: { qty: 1 } }), 'sku_id');
        wantInvalid(await api(srv, 'POST', '/cart/items', { token: s.token, body: { sku_id: '999999999999', qty: 1 } }), 'sku_id');
        await addToCart(srv, s.token, A().id, 1);
        for (const qty of [-1, 100001, 2.5, 'x']) {
            wantInvalid(await api(srv, 'PATCH', `/cart/items/${A().id}`, { token: s.token, body: { qty } }), 'qty');
        }
        const c = want(await api(srv, 'GET', '/cart', { token: s.token }), 200);
        assert.deepEqual(c.items.map((l) => [l.sku_id, l.qty]), [[A().id, 1]], 'rejected calls changed nothing');
    });

    test('more than available → 409 insufficient_stock naming the SKU (add and patch)', async () => {
        const s = await registerShopper(srv);
        const r = await api(srv, 'POST', '/cart/items', { token: s.token, body: { sku_id: B().id, qty: 4 } });
        want(r, 409, 'insufficient_stock');
        assert.deepEqual(r.json.skus, [B().id]);
        await addToCart(srv, s.token, B().id, 3);
        // the line total counts: 3 + 1 > 3
        want(await api(srv, 'POST', '/cart/items', { token: s.token, body: { sku_id: B().id, qty: 1 } }), 409, 'insufficient_stock');
        want(await api(srv, 'PATCH', `/cart/items/${B().id}`, { token: s.token, body: { qty: 4 } }), 409, 'insufficient_stock');
        const c = want(await api(srv, 'GET', '/cart', { token: s.token }), 200);
        assert.equal(c.items[0].qty, 3);
    });

    test('mixed currencies: subtotal and currency are null', async () => {
        const s = await registerShopper(srv);
        await addToCart(srv, s.token, A().id, 1);
        const c = await addToCart(srv, s.token, eurShop.skus[0].id, 2);
        assert.equal(c.items.length, 2);
        assert.equal(c.totals.qty, 3);
        assert.equal(c.totals.subtotal, null);
        assert.equal(c.totals.currency, null);
        const eur = c.items.find((l) => l.sku_id === eurShop.skus[0].id);
        assert.equal(eur.currency, 'EUR');
        assert.equal(eur.line_total, 1400);
    });

    test('the cart requires a signed-in user', async () => {
        want(await api(srv, 'GET', '/cart'), 401, 'unauthorized');
        want(await api(srv, 'POST', '/cart/items', { body: { sku_id: A().id, qty: 1 } }), 401, 'unauthorized');
    });
});
