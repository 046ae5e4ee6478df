// Durability: SIGKILL in the middle of a stream of concurrent checkouts and payments.
// Every acknowledged (2xx) write must survive the restart, with the status it was
// acknowledged with, and stock counters must agree with the orders (no unit twice).
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, uniq, makeShop, listAll, ledgerAll, pool, sleep, ADDRESS, registerShopper,
} from './lib/harness.mjs';

const FLOWS = 100;
// Flows start in waves of WAVE every WAVE_MS: checkouts and payments interleave and a
// few dozen requests are in flight at any moment.
const WAVE = 20;
const WAVE_MS = 15;
const KILL_AFTER_PAYMENTS = 12; // of 75; by then most checkouts are answered and more are in flight

let srv;
let shopA;
let shopB;
let skus; // id → {initial}
const flows = []; // {token, key, payKey, wantPay, cart: [[skuId, qty]], checkout?, status?, payInFlight?, checkoutInFlight?}

before(async () => {
    srv = await startServer({ seedShoppers: FLOWS });
    shopA = await makeShop(srv, { skus: [{ code: 'A1', price: 100, stock: 1000 }, { code: 'A2', price: 250, stock: 1000 }] });
    shopB = await makeShop(srv, { skus: [{ code: 'B1', price: 70, stock: 1000 }] });
    const [a1, a2] = shopA.skus;
    const [b1] = shopB.skus;
    skus = new Map([a1, a2, b1].map((s) => [s.id, { initial: s.on_hand }]));
    const carts = [[[a1.id, 1], [b1.id, 2]], [[a2.id, 3]], [[a1.id, 2], [a2.id, 1], [b1.id, 1]]];
    for (let i = 0; i < FLOWS; i++) {
        flows.push({
            i,
            token: srv.shopperTokens[i],
            key: uniq(`co${i}`),
            payKey: uniq(`pay${i}`),
            wantPay: i % 4 !== 0, // a quarter stay unpaid
            cart: carts[i % 3],
        });
    }
    await pool(flows, 10, async (f) => {
        for (const [sku_id, qty] of f.cart) want(await api(srv, 'POST', '/cart/items', { token: f.token, body: { sku_id, qty } }), 200);
    });
});
after(async () => {
    await srv?.stop();
});

/** Operator view of all orders; checks stock counters and per-checkout atomicity. */
async function checkConsistency(label) {
    const orders = await listAll(srv, '/orders', srv.operatorToken);
    const per = new Map([...skus.keys()].map((id) => [id, { reserved: 0, sold: 0 }]));
    const byCheckout = new Map();
    for (const o of orders) {
        for (const l of o.lines) {
            const c = per.get(l.sku_id);
            assert.ok(c, `${label}: order ${o.id} has unknown sku ${l.sku_id}`);
            if (o.status === 'pending_payment') c.reserved += l.qty;
            else if (o.status === 'paid') c.sold += l.qty;
            else assert.fail(`${label}: order ${o.id} has unexpected status ${o.status}`);
        }
        if (!byCheckout.has(o.checkout_id)) byCheckout.set(o.checkout_id, new Set());
        byCheckout.get(o.checkout_id).add(o.status);
    }
    for (const [cid, st] of byCheckout) {
        assert.equal(st.size, 1, `${label}: checkout ${cid} is half paid: ${[...st]}`);
    }
    for (const [id, want_] of per) {
        const s = (await api(srv, 'GET', `/skus/${id}`)).json;
        const init = skus.get(id).initial;
        const got = { on_hand: s.on_hand, reserved: s.reserved, sold: s.sold, available: s.available };
        const exp = { on_hand: init - want_.sold, reserved: want_.reserved, sold: want_.sold, available: init - want_.sold - want_.reserved };
        assert.deepEqual(got, exp, `${label}: sku ${id} counters disagree with the orders`);
    }
    // one sale and one commission per paid order in the ledgers, none for unpaid ones
    const paid = new Set(orders.filter((o) => o.status === 'paid').map((o) => o.id));
    for (const shop of [shopA, shopB]) {
        const { items } = await ledgerAll(srv, shop.merchant.id, shop.owner.token);
        const sales = items.filter((e) => e.kind === 'sale').map((e) => e.order_id);
        assert.equal(new Set(sales).size, sales.length, `${label}: an order booked twice in the ledger`);
        const mine = orders.filter((o) => o.merchant_id === shop.merchant.id && paid.has(o.id)).map((o) => o.id);
        assert.deepEqual([...sales].sort(), [...mine].sort(), `${label}: ledger sales ≠ paid orders`);
    }
    return orders;
}

test('acknowledged checkouts and payments survive SIGKILL', async (t) => {
    let payAcks = 0;
    let killed = false;
    let killing = null;
    const ack = (isPay) => {
        if (isPay) payAcks += 1;
        if (!killed && payAcks >= KILL_AFTER_PAYMENTS) {
            killed = true;
            killing = srv.kill9();
        }
    };

    await Promise.all(flows.map(async (f) => {
        await sleep(Math.floor(f.i / WAVE) * WAVE_MS);
        if (killed) return;
        // Only transport errors after the kill are tolerated; any answer must be the right one.
        f.checkoutInFlight = true;
        let r;
        try {
            r = await api(srv, 'POST', '/checkout', { token: f.token, idem: f.key, body: { shipping_address: ADDRESS } });
        } catch (e) {
            if (!killed) throw e;
            return; // lost in the crash: not acknowledged
        }
        f.checkoutInFlight = false;
        assert.equal(r.status, 201, `checkout ${f.i}: ${r.status} ${r.text}`);
        f.checkout = r.json;
        f.status = 'pending_payment';
        ack(false);

        if (!f.wantPay || killed) return;
        f.payInFlight = true;
        try {
            r = await api(srv, 'POST', `/checkout/${f.checkout.id}/pay`, { token: f.token, idem: f.payKey, body: { method: 'sandbox' } });
        } catch (e) {
            if (!killed) throw e;
            return;
        }
        f.payInFlight = false;
        assert.equal(r.status, 200, `pay ${f.i}: ${r.status} ${r.text}`);
        f.status = 'paid';
        ack(true);
    }));
    assert.ok(killed, `the stream ended before ${KILL_AFTER_PAYMENTS} payments were acknowledged (${payAcks})`);
    await killing;

    const acked = flows.filter((f) => f.checkout);
    const paidAcked = flows.filter((f) => f.status === 'paid');
    assert.ok(acked.length >= 20 && paidAcked.length >= 5, `acked ${acked.length} checkouts, ${paidAcked.length} payments`);
    t.diagnostic(`acknowledged: ${acked.length} checkouts, ${paidAcked.length} payments; lost in flight: ` +
        `${flows.filter((f) => f.checkoutInFlight).length} checkouts, ${flows.filter((f) => f.payInFlight).length} payments; ` +
        `never started: ${flows.filter((f) => f.checkoutInFlight === undefined).length}`);
    const oldOperatorToken = srv.operatorToken;

    await srv.restart();

    // sessions are durable too
    want(await api(srv, 'GET', '/me', { token: oldOperatorToken }), 200);
    want(await api(srv, 'GET', '/me', { token: flows[0].token }), 200);

    for (const f of acked) {
        const co = want(await api(srv, 'GET', `/checkout/${f.checkout.id}`, { token: f.token }), 200);
        assert.deepEqual(co.orders.map((o) => o.id).sort(), f.checkout.orders.map((o) => o.id).sort());
        for (const o of f.checkout.orders) {
            const g = want(await api(srv, 'GET', `/orders/${o.id}`, { token: f.token }), 200);
            if (f.status === 'paid') {
                assert.equal(g.status, 'paid', `flow ${f.i}: acknowledged payment lost`);
            } else if (f.payInFlight) {
                assert.ok(['pending_payment', 'paid'].includes(g.status), `flow ${f.i}: ${g.status}`);
            } else {
                assert.equal(g.status, 'pending_payment', `flow ${f.i}`);
            }
            assert.equal(g.subtotal, o.subtotal);
            assert.deepEqual(g.lines.map((l) => [l.sku_id, l.qty]), o.lines.map((l) => [l.sku_id, l.qty]));
        }
    }
    await checkConsistency('after restart');
});

test('after the crash, retrying with the same Idempotency-Key never books twice', async () => {
    // checkouts whose answer was lost: the retry either replays the committed one or runs now
    for (const f of flows.filter((x) => x.checkoutInFlight)) {
        const r = await api(srv, 'POST', '/checkout', { token: f.token, idem: f.key, body: { shipping_address: ADDRESS } });
        assert.equal(r.status, 201, `retry of checkout ${f.i}: ${r.status} ${r.text}`);
        f.checkout = r.json;
        f.status = 'pending_payment';
        f.checkoutInFlight = false;
    }
    // payments whose answer was lost: replay or pay now, never 409
    for (const f of flows.filter((x) => x.payInFlight)) {
        const r = await api(srv, 'POST', `/checkout/${f.checkout.id}/pay`, { token: f.token, idem: f.payKey, body: { method: 'sandbox' } });
        assert.equal(r.status, 200, `retry of payment ${f.i}: ${r.status} ${r.text}`);
        f.status = 'paid';
        f.payInFlight = false;
    }
    const orders = await checkConsistency('after retries');
    // each shopper has exactly the orders of its one checkout (none if its flow never started)
    for (const f of flows) {
        const list = await listAll(srv, '/orders', f.token);
        const want_ = f.checkout ? f.checkout.orders.map((o) => o.id).sort() : [];
        assert.deepEqual(list.map((o) => o.id).sort(), want_, `flow ${f.i}`);
    }
    assert.ok(orders.length >= flows.filter((f) => f.checkout).length);
    // the server is fully usable after the crash
    const s = await registerShopper(srv, 'after');
    want(await api(srv, 'POST', '/cart/items', { token: s.token, body: { sku_id: shopB.skus[0].id, qty: 1 } }), 200);
    want(await api(srv, 'POST', '/checkout', { token: s.token, idem: uniq('k'), body: { shipping_address: ADDRESS } }), 201);
});

test('SIGTERM under load: in-flight requests are answered, exit 0, answered writes persist', async (t) => {
    const shoppers = await Promise.all(Array.from({ length: 30 }, () => registerShopper(srv, 'drain')));
    const b1 = shopB.skus[0];
    for (const s of shoppers) want(await api(srv, 'POST', '/cart/items', { token: s.token, body: { sku_id: b1.id, qty: 1 } }), 200);
    const ordersBefore = (await listAll(srv, '/orders', srv.operatorToken)).length;

    const results = shoppers.map(() => ({}));
    const inflight = shoppers.map((s, i) => api(srv, 'POST', '/checkout', {
        token: s.token, idem: uniq('drain'), body: { shipping_address: ADDRESS },
    }).then((r) => { results[i].r = r; }, (e) => { results[i].err = e; }));
    await sleep(2);
    const exit = await srv.terminate();
    await Promise.all(inflight);
    assert.equal(exit.code, 0, `exit after SIGTERM under load: ${JSON.stringify(exit)}\n${srv.logTail(2000)}`);

    const answered = results.filter((x) => x.r);
    for (const { r } of answered) {
        assert.ok(r.status === 201 || (r.status === 503 && r.json?.code === 'unavailable'), `${r.status} ${r.text}`);
    }
    const acked = answered.filter((x) => x.r.status === 201).map((x) => x.r.json);
    t.diagnostic(`201: ${acked.length}, 503: ${answered.length - acked.length}, transport errors: ${results.length - answered.length}`);

    await srv.restart();
    for (const co of acked) {
        for (const o of co.orders) assert.equal((await api(srv, 'GET', `/orders/${o.id}`, { token: srv.operatorToken })).json?.status,
            'pending_payment');
    }
    const orders = await checkConsistency('after SIGTERM');
    assert.ok(orders.length >= ordersBefore + acked.length);
});
