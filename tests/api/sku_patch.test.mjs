// PATCH /skus/{id}: a merchant reprices a SKU (price, tiers, MOQ, attrs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, makeShop, registerShopper, login, OPERATOR,
    addToCart, clearCart, buy, getOrder,
} from './lib/harness.mjs';

let srv, shop, other, shopper, op;

before(async () => {
    srv = await startServer();
    shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 100 }] });
    other = await makeShop(srv, { skus: [{ code: 'B', price: 500, stock: 10 }] });
    shopper = await registerShopper(srv);
    op = await login(srv, OPERATOR.email, OPERATOR.password);
});
after(() => srv?.stop());

const patch = (token, id, body) => api(srv, 'PATCH', `/skus/${id}`, { token, body });

test('the merchant reprices: price, tiers, moq and attrs change, and the product shows it', async () => {
    const sku = shop.skus[0];
    const s = want(await patch(shop.owner.token, sku.id, {
        price: 1200, price_tiers: [{ min_qty: 10, price: 900 }], moq: 2, attrs: { color: 'red 红' },
    }), 200);
    assert.equal(s.price, 1200);
    assert.deepEqual(s.price_tiers, [{ min_qty: 10, price: 900 }]);
    assert.equal(s.moq, 2);
    assert.equal(s.attrs.color, 'red 红');
    const p = want(await api(srv, 'GET', `/products/${shop.product.id}`), 200);
    assert.equal(p.skus[0].price, 1200);
    // an empty tier list removes the tiers; other fields stay
    const t = want(await patch(shop.owner.token, sku.id, { price_tiers: [] }), 200);
    assert.deepEqual(t.price_tiers, []);
    assert.equal(t.price, 1200);
    want(await patch(shop.owner.token, sku.id, { moq: 1 }), 200);
});

test('carts follow the new price; a pending order keeps the price it was created with', async () => {
    const sku = shop.skus[0];
    want(await patch(shop.owner.token, sku.id, { price: 1000 }), 200);
    const co = await buy(srv, shopper.token, sku.id, 1);
    want(await patch(shop.owner.token, sku.id, { price: 1500 }), 200);
    const o = await getOrder(srv, co.orders[0].id, shopper.token);
    assert.equal(o.lines[0].unit_price, 1000);
    await clearCart(srv, shopper.token);
    const cart = await addToCart(srv, shopper.token, sku.id, 1);
    assert.equal(cart.items[0].unit_price, 1500);
    await clearCart(srv, shopper.token);
});

test('who may: 401 anonymous, 403 shopper and operator, 404 another merchant, 404 unknown', async () => {
    const sku = shop.skus[0];
    want(await patch(undefined, sku.id, { price: 1 }), 401, 'unauthorized');
    want(await patch(shopper.token, sku.id, { price: 1 }), 403, 'forbidden');
    want(await patch(op, sku.id, { price: 1 }), 403, 'forbidden');
    want(await patch(other.owner.token, sku.id, { price: 1 }), 404, 'not_found');
    want(await patch(shop.owner.token, '999999999999', { price: 1 }), 404, 'not_found');
});

test('bad input: 422 naming the field, 400 for bad JSON', async () => {
    const id = shop.skus[0].id;
    wantInvalid(await patch(shop.owner.token, id, { price: -1 }), 'price');
    wantInvalid(await patch(shop.owner.token, id, { price: 'ten' }), 'price');
    wantInvalid(await patch(shop.owner.token, id, { moq: 0 }), 'moq');
    wantInvalid(await patch(shop.owner.token, id, { price_tiers: [{ min_qty: 1, price: 5 }] }), 'price_tiers');
    wantInvalid(await patch(shop.owner.token, id, { price_tiers: [{ min_qty: 5, price: 5 }, { min_qty: 5, price: 4 }] }), 'price_tiers');
    wantInvalid(await patch(shop.owner.token, id, { attrs: 'x' }), 'attrs');
    const bad = await api(srv, 'PATCH', `/skus/${id}`, { token: shop.owner.token, rawBody: '{"price":' });
    want(bad, 400, 'bad_json');
    // nothing changed
    const s = want(await api(srv, 'GET', `/skus/${id}`), 200);
    assert.equal(s.price, 1500);
});
