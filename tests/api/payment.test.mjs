// Payment: sandbox success, declined card, paying twice, per-order pay, idempotent pay.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, registerShopper, makeShop, addToCart, checkout, getSku, getOrder,
    DECLINED_CARD,
} from './lib/harness.mjs';

let srv;
let shop1;
let shop2;
before(async () => {
    srv = await startServer();
    shop1 = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 100 }] });
    shop2 = await makeShop(srv, { skus: [{ code: 'C', price: 300, stock: 100 }] });
});
after(async () => {
    await srv?.stop();
});

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const A = () => shop1.skus[0];
const C = () => shop2.skus[0];
const pay = (token, id, body = { method: 'sandbox' }, idem = uniq('pay')) =>
    api(srv, 'POST', `/checkout/${id}/pay`, { token, idem, body });

/** A fresh buyer with a two-merchant checkout (A×2, C×1). */
async function twoMerchantCheckout() {
    const buyer = await registerShopper(srv, 'buyer');
    await addToCart(srv, buyer.token, A().id, 2);
    await addToCart(srv, buyer.token, C().id, 1);
    const co = await checkout(srv, buyer.token);
    assert.equal(co.orders.length, 2);
    return { buyer, co };
}

describe('POST /checkout/{id}/pay', () => {
    test('sandbox → 200, every order paid, stock moves from reserved to sold', async () => {
        const [a0, c0] = await Promise.all([getSku(srv, A().id), getSku(srv, C().id)]);
        const { buyer, co } = await twoMerchantCheckout();
        const r = await pay(buyer.token, co.id);
        const j = want(r, 200);
        if (j.orders) for (const o of j.orders) assert.equal(o.status, 'paid');
        for (const o of co.orders) {
            const g = await getOrder(srv, o.id, buyer.token);
            assert.equal(g.status, 'paid');
            assert.match(g.paid_at, RFC3339_UTC);
            assert.deepEqual(g.history.map((h) => h.status), ['pending_payment', 'paid']);
        }
        const g = want(await api(srv, 'GET', `/checkout/${co.id}`, { token: buyer.token }), 200);
        assert.equal(g.status, 'paid');
        const [a1, c1] = await Promise.all([getSku(srv, A().id), getSku(srv, C().id)]);
        assert.deepEqual([a1.on_hand, a1.reserved, a1.sold, a1.available], [a0.on_hand - 2, a0.reserved, a0.sold + 2, a0.available - 2]);
        assert.deepEqual([c1.on_hand, c1.reserved, c1.sold, c1.available], [c0.on_hand - 1, c0.reserved, c0.sold + 1, c0.available - 1]);
    });

    test('declined card → 402 payment_declined; orders stay pending_payment with stock reserved; a later good payment works',
        async () => {
            const { buyer, co } = await twoMerchantCheckout();
            const a0 = await getSku(srv, A().id);
            want(await pay(buyer.token, co.id, { method: 'sandbox', card: DECLINED_CARD }), 402, 'payment_declined');
            for (const o of co.orders) assert.equal((await getOrder(srv, o.id, buyer.token)).status, 'pending_payment');
            const g = want(await api(srv, 'GET', `/checkout/${co.id}`, { token: buyer.token }), 200);
            assert.equal(g.status, 'pending_payment');
            const a1 = await getSku(srv, A().id);
            assert.deepEqual([a1.on_hand, a1.reserved, a1.sold], [a0.on_hand, a0.reserved, a0.sold], 'declined payment moves no stock');
            want(await pay(buyer.token, co.id, { method: 'sandbox', card: '4242424242424242' }), 200);
            for (const o of co.orders) assert.equal((await getOrder(srv, o.id, buyer.token)).status, 'paid');
        });

    test('a declined answer is not stored: retrying with the same key and a good card pays', async () => {
        const { buyer, co } = await twoMerchantCheckout();
        const key = uniq('pay-key');
        want(await pay(buyer.token, co.id, { method: 'sandbox', card: DECLINED_CARD }, key), 402, 'payment_declined');
        const r = await pay(buyer.token, co.id, { method: 'sandbox' }, key);
        want(r, 200);
        assert.notEqual(r.headers.get('idempotent-replayed'), 'true');
    });

    test('paying twice → 409 invalid_transition; the same key replays the 200', async () => {
        const { buyer, co } = await twoMerchantCheckout();
        const key = uniq('pay-once');
        const r1 = await pay(buyer.token, co.id, { method: 'sandbox' }, key);
        want(r1, 200);
        const a1 = await getSku(srv, A().id);
        const r2 = await pay(buyer.token, co.id, { method: 'sandbox' }, key);
        want(r2, 200);
        assert.equal(r2.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(r2.json, r1.json);
        want(await pay(buyer.token, co.id, { method: 'sandbox' }), 409, 'invalid_transition');
        want(await pay(buyer.token, co.id, { method: 'sandbox' }, key + '-b'), 409, 'invalid_transition');
        want(await pay(buyer.token, co.id, { method: 'sandbox', card: '4111111111111111' }, key), 422, 'idempotency_key_reused');
        const a2 = await getSku(srv, A().id);
        assert.equal(a2.sold, a1.sold, 'no second sale');
        for (const o of co.orders) {
            want(await api(srv, 'POST', `/orders/${o.id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } }),
                409, 'invalid_transition');
        }
    });

    test('method must be "sandbox"', async () => {
        const { buyer, co } = await twoMerchantCheckout();
        wantInvalid(await pay(buyer.token, co.id, { method: 'paypal' }), 'method');
        wantInvalid(await pay(buyer.token, co.id, {}), 'method');
        wantInvalid(await pay(buyer.token, co.id, { method: 1 }), 'method');
        wantInvalid(await pay(buyer.token, co.id, { method: 'sandbox', card: 4242 }), 'card');
        for (const o of co.orders) assert.equal((await getOrder(srv, o.id, buyer.token)).status, 'pending_payment');
    });

    test('unknown checkout → 404', async () => {
        const buyer = await registerShopper(srv, 'buyer');
        want(await pay(buyer.token, '999999999999'), 404, 'not_found');
        want(await api(srv, 'GET', '/checkout/999999999999', { token: buyer.token }), 404, 'not_found');
    });
});

describe('POST /orders/{id}/pay', () => {
    test('pays one order; the other order of the checkout stays pending_payment', async () => {
        const { buyer, co } = await twoMerchantCheckout();
        const [o1, o2] = co.orders;
        const c0 = await getSku(srv, C().id);
        want(await api(srv, 'POST', `/orders/${o1.id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } }), 200);
        assert.equal((await getOrder(srv, o1.id, buyer.token)).status, 'paid');
        assert.equal((await getOrder(srv, o2.id, buyer.token)).status, 'pending_payment');
        const c1 = await getSku(srv, C().id);
        const cQtyPaid = o1.lines.filter((l) => l.sku_id === C().id).reduce((s, l) => s + l.qty, 0);
        assert.equal(c1.sold, c0.sold + cQtyPaid);
        want(await api(srv, 'POST', `/orders/${o1.id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } }),
            409, 'invalid_transition');
        want(await api(srv, 'POST', `/orders/${o2.id}/pay`, {
            token: buyer.token, idem: uniq('p'), body: { method: 'sandbox', card: DECLINED_CARD },
        }), 402, 'payment_declined');
        assert.equal((await getOrder(srv, o2.id, buyer.token)).status, 'pending_payment');
        want(await api(srv, 'POST', `/orders/${o2.id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } }), 200);
        const g = want(await api(srv, 'GET', `/checkout/${co.id}`, { token: buyer.token }), 200);
        assert.equal(g.status, 'paid', 'checkout status is derived from its orders');
    });

    test('paying a cancelled order → 409 invalid_transition', async () => {
        const { buyer, co } = await twoMerchantCheckout();
        const o = co.orders[0];
        want(await api(srv, 'POST', `/orders/${o.id}/cancel`, { token: buyer.token }), 200);
        want(await api(srv, 'POST', `/orders/${o.id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } }),
            409, 'invalid_transition');
        assert.equal((await getOrder(srv, o.id, buyer.token)).status, 'cancelled');
    });
});
