// Orders: the state machine (every allowed move, forbidden moves → 409 invalid_transition),
// cancel/refund with stock and ledger effects, commission rounding, listing and filters.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, uniq, registerShopper, makeShop, addToCart, clearCart, checkout, payCheckout, getSku,
    getOrder, addStaff, listAll, ledgerAll,
} from './lib/harness.mjs';

let srv;
let shop; // USD, S 1000 stock 1000
let staff;
let buyer;
before(async () => {
    srv = await startServer();
    shop = await makeShop(srv, { skus: [{ code: 'S', price: 1000, stock: 1000 }] });
    staff = await registerShopper(srv, 'staff');
    await addStaff(srv, shop.merchant.id, shop.owner.token, staff.email);
    buyer = await registerShopper(srv, 'buyer');
});
after(async () => {
    await srv?.stop();
});

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const S = () => shop.skus[0];

/** Order of `qty` units of S in `state`, bought by `buyer`. */
async function orderIn(state, qty = 1) {
    await clearCart(srv, buyer.token);
    await addToCart(srv, buyer.token, S().id, qty);
    const co = await checkout(srv, buyer.token);
    const id = co.orders[0].id;
    const steps = {
        pending_payment: [],
        paid: ['pay'],
        shipped: ['pay', 'ship'],
        delivered: ['pay', 'ship', 'deliver'],
        completed: ['pay', 'ship', 'deliver', 'complete'],
        cancelled: ['cancel'],
        refunded: ['pay', 'cancel'],
    }[state];
    for (const s of steps) want(await act(s, id), 200);
    const o = await getOrder(srv, id);
    assert.equal(o.status, state);
    return o;
}

/** Performs a move as the party allowed to make it. */
function act(action, id) {
    switch (action) {
        case 'pay':
            return api(srv, 'POST', `/orders/${id}/pay`, { token: buyer.token, idem: uniq('p'), body: { method: 'sandbox' } });
        case 'ship':
            return api(srv, 'POST', `/orders/${id}/ship`, { token: staff.token, body: { carrier: 'SF Express', tracking: 'SF123' } });
        case 'deliver':
            return api(srv, 'POST', `/orders/${id}/deliver`, { token: srv.courierToken });
        case 'complete':
            return api(srv, 'POST', `/orders/${id}/complete`, { token: buyer.token });
        case 'cancel':
            return api(srv, 'POST', `/orders/${id}/cancel`, { token: buyer.token });
        default:
            throw new Error(action);
    }
}

describe('state machine', () => {
    test('pending_payment → paid → shipped → delivered → completed, with history', async () => {
        const o = await orderIn('pending_payment');
        want(await act('pay', o.id), 200);
        const shipped = want(await act('ship', o.id), 200);
        assert.equal(shipped.status, 'shipped');
        assert.equal(shipped.carrier, 'SF Express');
        assert.equal(shipped.tracking, 'SF123');
        assert.equal(want(await act('deliver', o.id), 200).status, 'delivered');
        assert.equal(want(await act('complete', o.id), 200).status, 'completed');
        const g = await getOrder(srv, o.id, buyer.token);
        assert.equal(g.status, 'completed');
        assert.equal(g.carrier, 'SF Express');
        assert.equal(g.tracking, 'SF123');
        assert.deepEqual(g.history.map((h) => h.status), ['pending_payment', 'paid', 'shipped', 'delivered', 'completed']);
        for (const h of g.history) assert.match(h.at, RFC3339_UTC);
        const times = g.history.map((h) => Date.parse(h.at));
        for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1], 'history is in time order');
    });

    test('ship without carrier/tracking is allowed', async () => {
        const o = await orderIn('paid');
        want(await api(srv, 'POST', `/orders/${o.id}/ship`, { token: shop.owner.token }), 200);
        assert.equal((await getOrder(srv, o.id)).status, 'shipped');
    });

    test('deliver by merchant staff and by an operator; cancel by staff and by an operator', async () => {
        for (const token of [staff.token, srv.operatorToken]) {
            const o = await orderIn('shipped');
            assert.equal(want(await api(srv, 'POST', `/orders/${o.id}/deliver`, { token }), 200).status, 'delivered');
        }
        for (const token of [staff.token, shop.owner.token, srv.operatorToken]) {
            const o = await orderIn('pending_payment');
            assert.equal(want(await api(srv, 'POST', `/orders/${o.id}/cancel`, { token }), 200).status, 'cancelled');
        }
    });

    // Every move not in the diagram → 409 invalid_transition, and the order is unchanged.
    const FORBIDDEN = {
        pending_payment: ['ship', 'deliver', 'complete'],
        paid: ['pay', 'deliver', 'complete'],
        shipped: ['pay', 'ship', 'complete', 'cancel'],
        delivered: ['pay', 'ship', 'deliver', 'cancel'],
        completed: ['pay', 'ship', 'deliver', 'complete', 'cancel'],
        cancelled: ['pay', 'ship', 'deliver', 'complete', 'cancel'],
        refunded: ['pay', 'ship', 'deliver', 'complete', 'cancel'],
    };
    for (const [state, actions] of Object.entries(FORBIDDEN)) {
        test(`from ${state}: ${actions.join(', ')} → 409 invalid_transition`, async () => {
            const o = await orderIn(state);
            const sku0 = await getSku(srv, S().id);
            for (const a of actions) {
                want(await act(a, o.id), 409, 'invalid_transition');
                const g = await getOrder(srv, o.id);
                assert.equal(g.status, state, `${a} on ${state} must not change the order`);
                assert.equal(g.history.length, o.history.length);
            }
            const sku1 = await getSku(srv, S().id);
            assert.deepEqual([sku1.on_hand, sku1.reserved, sku1.sold], [sku0.on_hand, sku0.reserved, sku0.sold]);
        });
    }
});

describe('cancel and refund', () => {
    test('cancel pending_payment → cancelled, reservation released', async () => {
        const s0 = await getSku(srv, S().id);
        const o = await orderIn('pending_payment', 3);
        const s1 = await getSku(srv, S().id);
        assert.deepEqual([s1.reserved, s1.available], [s0.reserved + 3, s0.available - 3]);
        const c = want(await act('cancel', o.id), 200);
        assert.equal(c.status, 'cancelled');
        const s2 = await getSku(srv, S().id);
        assert.deepEqual([s2.on_hand, s2.reserved, s2.available, s2.sold], [s0.on_hand, s0.reserved, s0.available, s0.sold]);
        const g = await getOrder(srv, o.id);
        assert.deepEqual(g.history.map((h) => h.status), ['pending_payment', 'cancelled']);
        const co = want(await api(srv, 'GET', `/checkout/${o.checkout_id}`, { token: buyer.token }), 200);
        assert.equal(co.status, 'cancelled');
        const l = await ledgerAll(srv, shop.merchant.id, shop.owner.token);
        assert.ok(!l.items.some((e) => e.order_id === o.id), 'an unpaid order books nothing');
    });

    test('cancel paid → refunded: stock back on hand, ledger refund = −subtotal and commission reversed', async () => {
        const s0 = await getSku(srv, S().id);
        const o = await orderIn('paid', 3);
        const s1 = await getSku(srv, S().id);
        assert.deepEqual([s1.on_hand, s1.reserved, s1.sold], [s0.on_hand - 3, s0.reserved, s0.sold + 3]);
        const l0 = await ledgerAll(srv, shop.merchant.id, shop.owner.token);

        const r = want(await act('cancel', o.id), 200);
        assert.equal(r.status, 'refunded');
        const s2 = await getSku(srv, S().id);
        assert.deepEqual([s2.on_hand, s2.reserved, s2.available, s2.sold], [s0.on_hand, s0.reserved, s0.available, s0.sold]);

        const l1 = await ledgerAll(srv, shop.merchant.id, shop.owner.token);
        const mine = l1.items.filter((e) => e.order_id === o.id);
        const byKind = (k) => mine.filter((e) => e.kind === k).map((e) => e.amount).sort((a, b) => a - b);
        const commission = Math.floor((3000 * 500 + 5000) / 10000); // 150
        assert.deepEqual(byKind('sale'), [3000]);
        assert.deepEqual(byKind('refund'), [-3000]);
        assert.deepEqual(byKind('commission'), [-commission, commission]);
        assert.equal(mine.reduce((s, e) => s + e.amount, 0), 0, 'a refunded order nets to zero');
        assert.equal(l1.balance.pending, l0.balance.pending - (3000 - commission));
        assert.equal(l1.balance.available, l0.balance.available);
        assert.deepEqual((await getOrder(srv, o.id)).history.map((h) => h.status), ['pending_payment', 'paid', 'refunded']);
    });
});

describe('commission', () => {
    // [commission_bp, unit price, qty, expected commission]: round half up of subtotal*bp/10000
    const CASES = [
        [500, 1010, 1, 51], // 50.5 → 51 (half-even would give 50)
        [1250, 506, 2, 127], // 126.5 → 127
        [333, 1515, 1, 50], // 50.4495 → 50
        [1, 5000, 1, 1], // 0.5 → 1
        [7, 2143, 1, 2], // 1.5001 → 2
        [10000, 999, 1, 999], // everything
        [2500, 7, 3, 5], // 5.25 → 5
    ];
    test('paid order books sale = +subtotal and commission = −round_half_up(subtotal × bp / 10000)', async () => {
        const shopper = await registerShopper(srv, 'buyer');
        for (const [bp, price, qty, expected] of CASES) {
            const sh = await makeShop(srv, { skus: [{ price, stock: 10 }] });
            want(await api(srv, 'PUT', `/merchants/${sh.merchant.id}/commission`, {
                token: srv.operatorToken, body: { commission_bp: bp },
            }), 200);
            await clearCart(srv, shopper.token);
            await addToCart(srv, shopper.token, sh.skus[0].id, qty);
            const co = await checkout(srv, shopper.token);
            await payCheckout(srv, shopper.token, co.id);
            const o = await getOrder(srv, co.orders[0].id);
            assert.equal(o.subtotal, price * qty);
            assert.equal(o.commission_bp, bp);
            assert.equal(Math.abs(o.commission), expected, `order.commission for bp=${bp} subtotal=${price * qty}`);
            const l = await ledgerAll(srv, sh.merchant.id, sh.owner.token);
            const entries = l.items.map((e) => [e.kind, e.amount, e.order_id]).sort();
            assert.deepEqual(entries, [['commission', -expected, o.id], ['sale', price * qty, o.id]].sort(),
                `bp=${bp} subtotal=${price * qty}`);
            assert.equal(l.balance.pending, price * qty - expected);
            assert.equal(l.balance.currency, 'USD');
        }
    });
});

describe('GET /orders', () => {
    test('shoppers see theirs, staff their merchant\'s, operators all; ?status= filters', async () => {
        const me = await registerShopper(srv, 'lister');
        const other = await registerShopper(srv, 'lister');
        const otherShop = await makeShop(srv, { skus: [{ price: 10, stock: 100 }] });
        await addToCart(srv, me.token, S().id, 1);
        await addToCart(srv, me.token, otherShop.skus[0].id, 1);
        const co = await checkout(srv, me.token);
        await addToCart(srv, other.token, otherShop.skus[0].id, 1);
        const co2 = await checkout(srv, other.token);
        await payCheckout(srv, other.token, co2.id);
        const mineIds = co.orders.map((o) => o.id).sort();
        const ourOrder = co.orders.find((o) => o.merchant_id === shop.merchant.id).id;

        const mine = await listAll(srv, '/orders', me.token);
        assert.deepEqual(mine.map((o) => o.id).sort(), mineIds);
        const theirs = await listAll(srv, '/orders', other.token);
        assert.deepEqual(theirs.map((o) => o.id), [co2.orders[0].id]);

        const staffView = await listAll(srv, '/orders', staff.token);
        assert.ok(staffView.every((o) => o.merchant_id === shop.merchant.id), 'staff see only their merchant');
        assert.ok(staffView.some((o) => o.id === ourOrder));
        assert.ok(!staffView.some((o) => o.merchant_id === otherShop.merchant.id));

        const all = await listAll(srv, '/orders', srv.operatorToken);
        const allIds = new Set(all.map((o) => o.id));
        for (const id of [...mineIds, co2.orders[0].id]) assert.ok(allIds.has(id));
        const desc = all.map((o) => BigInt(o.id));
        for (let i = 1; i < desc.length; i++) assert.ok(desc[i - 1] > desc[i], 'newest first');

        const paid = await listAll(srv, '/orders?status=paid', srv.operatorToken);
        assert.ok(paid.length > 0 && paid.every((o) => o.status === 'paid'));
        assert.ok(paid.some((o) => o.id === co2.orders[0].id));
        const pendingMine = await listAll(srv, '/orders?status=pending_payment', me.token);
        assert.deepEqual(pendingMine.map((o) => o.id).sort(), mineIds);
        assert.deepEqual(await listAll(srv, '/orders?status=paid', me.token), []);
    });

    test('GET /orders/{id}: unknown → 404; JSON has the documented fields', async () => {
        want(await api(srv, 'GET', '/orders/999999999999', { token: srv.operatorToken }), 404, 'not_found');
        const o = await orderIn('paid', 2);
        for (const k of ['id', 'checkout_id', 'merchant_id', 'user_id', 'status', 'lines', 'subtotal', 'currency', 'commission_bp',
            'commission', 'shipping_address', 'created_at', 'expires_at', 'paid_at', 'history']) {
            assert.ok(k in o, `order has ${k}`);
        }
        assert.equal(o.merchant_id, shop.merchant.id);
        assert.equal(o.user_id, buyer.id);
        assert.deepEqual(o.lines.map((l) => [l.sku_id, l.product_id, l.qty, l.unit_price, l.line_total]),
            [[S().id, shop.product.id, 2, 1000, 2000]]);
        assert.equal(o.subtotal, 2000);
    });
});
