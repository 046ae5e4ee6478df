// Expiry of unpaid orders with --payment-window 2 (checked at least once a second).
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, uniq, registerShopper, makeShop, addToCart, checkout, payCheckout, getSku, getOrder, sleep,
} from './lib/harness.mjs';

let srv;
let shop;
before(async () => {
    srv = await startServer({ paymentWindow: 2 });
    shop = await makeShop(srv, { skus: [{ code: 'A', price: 500, stock: 10 }, { code: 'B', price: 100, stock: 10 }] });
});
after(async () => {
    await srv?.stop();
});

async function waitStatus(orderId, status, deadline) {
    let o;
    while (Date.now() < deadline) {
        o = await getOrder(srv, orderId);
        if (o.status === status) return o;
        await sleep(100);
    }
    return o;
}

test('an unpaid order expires within ~3.5 s and its stock comes back; a paid one does not', async () => {
    const [a, b] = shop.skus;
    const buyer = await registerShopper(srv, 'buyer');
    const payer = await registerShopper(srv, 'payer');
    const a0 = await getSku(srv, a.id);
    const b0 = await getSku(srv, b.id);

    await addToCart(srv, payer.token, b.id, 2);
    const paidCo = await checkout(srv, payer.token);
    await payCheckout(srv, payer.token, paidCo.id);

    await addToCart(srv, buyer.token, a.id, 4);
    const t0 = Date.now();
    const co = await checkout(srv, buyer.token);
    const o = co.orders[0];
    assert.equal(o.status, 'pending_payment');
    const window = Date.parse(co.expires_at) - Date.parse(co.created_at);
    // (±1 s: the timestamps may be whole seconds)
    assert.ok(window >= 1000 && window <= 3000, `expires_at − created_at ≈ 2 s, got ${window} ms`);
    const a1 = await getSku(srv, a.id);
    assert.deepEqual([a1.reserved, a1.available], [a0.reserved + 4, a0.available - 4]);

    // not before its time
    await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    assert.equal((await getOrder(srv, o.id)).status, 'pending_payment', 'still payable 1 s in');

    const e = await waitStatus(o.id, 'expired', t0 + 3500);
    assert.equal(e.status, 'expired', `order not expired ${Date.now() - t0} ms after checkout`);
    assert.equal(e.history.at(-1).status, 'expired');
    const a2 = await getSku(srv, a.id);
    assert.deepEqual([a2.on_hand, a2.reserved, a2.available, a2.sold], [a0.on_hand, a0.reserved, a0.available, a0.sold],
        'reservation released');
    const g = want(await api(srv, 'GET', `/checkout/${co.id}`, { token: buyer.token }), 200);
    assert.equal(g.status, 'expired');

    // an expired order can neither be paid nor cancelled
    want(await api(srv, 'POST', `/checkout/${co.id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } }),
        409, 'invalid_transition');
    want(await api(srv, 'POST', `/orders/${o.id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } }),
        409, 'invalid_transition');
    want(await api(srv, 'POST', `/orders/${o.id}/cancel`, { token: buyer.token }), 409, 'invalid_transition');
    assert.equal((await getOrder(srv, o.id)).status, 'expired');

    // the paid order, older than the window, is untouched
    const p = await getOrder(srv, paidCo.orders[0].id);
    assert.equal(p.status, 'paid');
    const b1 = await getSku(srv, b.id);
    assert.deepEqual([b1.on_hand, b1.reserved, b1.sold], [b0.on_hand - 2, b0.reserved, b0.sold + 2]);
});

test('a cancelled order does not later turn into expired', async () => {
    const buyer = await registerShopper(srv, 'buyer');
    const a = shop.skus[0];
    const a0 = await getSku(srv, a.id);
    await addToCart(srv, buyer.token, a.id, 1);
    const co = await checkout(srv, buyer.token);
    want(await api(srv, 'POST', `/orders/${co.orders[0].id}/cancel`, { token: buyer.token }), 200);
    await sleep(3200);
    const o = await getOrder(srv, co.orders[0].id);
    assert.equal(o.status, 'cancelled');
    const a1 = await getSku(srv, a.id);
    assert.deepEqual([a1.reserved, a1.available], [a0.reserved, a0.available], 'released once, not twice');
});

test('many orders expire together and every unit comes back', async () => {
    const a = shop.skus[0];
    const a0 = await getSku(srv, a.id);
    const buyers = await Promise.all(Array.from({ length: 5 }, () => registerShopper(srv, 'bulk')));
    const cos = [];
    for (const b of buyers) {
        await addToCart(srv, b.token, a.id, 2);
        cos.push(await checkout(srv, b.token));
    }
    const mid = await getSku(srv, a.id);
    assert.equal(mid.available, a0.available - 10);
    const deadline = Date.now() + 3500;
    for (const co of cos) {
        const o = await waitStatus(co.orders[0].id, 'expired', deadline);
        assert.equal(o.status, 'expired');
    }
    const a1 = await getSku(srv, a.id);
    assert.deepEqual([a1.reserved, a1.available], [a0.reserved, a0.available]);
});

test('pay racing expiry: the answer matches the final state and stock adds up', async () => {
    const race = await makeShop(srv, { skus: [{ code: 'R', price: 300, stock: 50 }] });
    const sku = race.skus[0];
    const buyers = await Promise.all(Array.from({ length: 10 }, () => registerShopper(srv, 'late')));
    const cos = [];
    for (const b of buyers) {
        await addToCart(srv, b.token, sku.id, 1);
        cos.push({ b, co: await checkout(srv, b.token) });
    }
    // pay each one between 300 ms before and 300 ms after its expires_at
    const results = await Promise.all(cos.map(async ({ b, co }, i) => {
        const at = Date.parse(co.expires_at) - 300 + i * 60;
        await sleep(Math.max(0, at - Date.now()));
        const r = await api(srv, 'POST', `/checkout/${co.id}/pay`, { token: b.token, idem: uniq('p'), body: { method: 'sandbox' } });
        return { r, id: co.orders[0].id };
    }));
    await sleep(1500); // let the sweeper finish
    let paid = 0;
    for (const { r, id } of results) {
        const o = await getOrder(srv, id);
        if (r.status === 200) {
            assert.equal(o.status, 'paid');
            paid += 1;
        } else {
            want(r, 409, 'invalid_transition');
            assert.equal(o.status, 'expired');
        }
    }
    const s = await getSku(srv, sku.id);
    assert.deepEqual({ on_hand: s.on_hand, reserved: s.reserved, sold: s.sold, available: s.available },
        { on_hand: 50 - paid, reserved: 0, sold: paid, available: 50 - paid });
});
