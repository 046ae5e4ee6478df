// Race: 200 shoppers, 50 units. Exactly 50 win; 150 get 409 insufficient_stock.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, uniq, makeShop, getSku, listAll, ledgerAll, clearCart, ADDRESS,
} from './lib/harness.mjs';

const USERS = 200;
const STOCK = 50;

let srv;
let shop;
before(async () => {
    srv = await startServer({ seedShoppers: USERS });
    shop = await makeShop(srv, { skus: [{ code: 'HOT', price: 990, stock: STOCK }, { code: 'HOT2', price: 500, stock: STOCK }] });
});
after(async () => {
    await srv?.stop();
});

const checkoutAs = (token) => api(srv, 'POST', '/checkout', { token, idem: uniq('race'), body: { shipping_address: ADDRESS } });

let winners = [];

test('200 concurrent checkouts of 1 unit against stock 50 → exactly 50 orders', async () => {
    const sku = shop.skus.find((s) => s.code === 'HOT');
    const tokens = srv.shopperTokens;

    // a cart does not reserve, so every add succeeds
    const adds = await Promise.all(tokens.map((token) => api(srv, 'POST', '/cart/items', { token, body: { sku_id: sku.id, qty: 1 } })));
    assert.deepEqual(adds.map((r) => r.status), tokens.map(() => 200), 'all 200 adds succeed');

    const rs = await Promise.all(tokens.map((token) => checkoutAs(token)));
    const won = rs.filter((r) => r.status === 201);
    const lost = rs.filter((r) => r.status !== 201);
    const unitsSold = won.reduce((s, r) => s + r.json.orders.reduce((t, o) => t + o.lines.reduce((u, l) => u + l.qty, 0), 0), 0);
    const orderCount = won.reduce((s, r) => s + r.json.orders.length, 0);
    assert.equal(won.length, STOCK, `winners: ${won.length}; other answers: ${[...new Set(lost.map((r) => `${r.status} ${r.json?.code}`))]}`);
    assert.equal(orderCount, STOCK);
    assert.equal(unitsSold, STOCK);
    assert.equal(lost.length, USERS - STOCK);
    for (const r of lost) {
        want(r, 409, 'insufficient_stock');
        assert.deepEqual(r.json.skus, [sku.id]);
    }

    const s = await getSku(srv, sku.id);
    assert.deepEqual({ on_hand: s.on_hand, reserved: s.reserved, available: s.available, sold: s.sold },
        { on_hand: STOCK, reserved: STOCK, available: 0, sold: 0 });

    const orders = (await listAll(srv, '/orders?status=pending_payment', srv.operatorToken))
        .filter((o) => o.lines.some((l) => l.sku_id === sku.id));
    assert.equal(orders.length, STOCK);
    assert.equal(new Set(orders.map((o) => o.user_id)).size, STOCK, 'one order per winner');

    // losers keep their carts; winners' carts are empty
    const loserIdx = rs.map((r, i) => (r.status === 201 ? -1 : i)).filter((i) => i >= 0);
    const winnerIdx = rs.map((r, i) => (r.status === 201 ? i : -1)).filter((i) => i >= 0);
    const lc = want(await api(srv, 'GET', '/cart', { token: tokens[loserIdx[0]] }), 200);
    assert.deepEqual(lc.items.map((l) => [l.sku_id, l.qty]), [[sku.id, 1]]);
    const wc = want(await api(srv, 'GET', '/cart', { token: tokens[winnerIdx[0]] }), 200);
    assert.deepEqual(wc.items, []);
    winners = winnerIdx.map((i) => ({ token: tokens[i], checkout: rs[i].json }));
});

test('the 50 winners pay concurrently: sold 50, nothing reserved, nothing left', async () => {
    assert.equal(winners.length, STOCK, 'needs the previous test');
    const sku = shop.skus.find((s) => s.code === 'HOT');
    const rs = await Promise.all(winners.map((w) => api(srv, 'POST', `/checkout/${w.checkout.id}/pay`, {
        token: w.token, idem: uniq('pay'), body: { method: 'sandbox' },
    })));
    assert.deepEqual(rs.map((r) => r.status), winners.map(() => 200));
    const s = await getSku(srv, sku.id);
    assert.deepEqual({ on_hand: s.on_hand, reserved: s.reserved, available: s.available, sold: s.sold },
        { on_hand: 0, reserved: 0, available: 0, sold: STOCK });
});

test('interleaved add + checkout per shopper: still exactly 50 units out, losers get insufficient_stock', async () => {
    const hot1 = shop.skus.find((s) => s.code === 'HOT');
    const sku = shop.skus.find((s) => s.code === 'HOT2');
    const tokens = srv.shopperTokens;
    const results = await Promise.all(tokens.map(async (token) => {
        // losers of the first round still hold HOT (sold out) in their carts
        const d = await api(srv, 'DELETE', `/cart/items/${hot1.id}`, { token });
        assert.ok([200, 404].includes(d.status), `${d.status} ${d.text}`);
        const add = await api(srv, 'POST', '/cart/items', { token, body: { sku_id: sku.id, qty: 1 } });
        if (add.status !== 200) return { stage: 'add', r: add };
        return { stage: 'checkout', r: await checkoutAs(token) };
    }));
    const won = results.filter((x) => x.stage === 'checkout' && x.r.status === 201);
    const lost = results.filter((x) => !(x.stage === 'checkout' && x.r.status === 201));
    assert.equal(won.length, STOCK);
    for (const { r } of lost) want(r, 409, 'insufficient_stock');
    const units = won.reduce((s, x) => s + x.r.json.orders[0].lines.reduce((t, l) => t + l.qty, 0), 0);
    assert.equal(units, STOCK);
    const s = await getSku(srv, sku.id);
    assert.deepEqual({ on_hand: s.on_hand, reserved: s.reserved, available: s.available },
        { on_hand: STOCK, reserved: STOCK, available: 0 });
});

test('pay racing cancel on the same order: one consistent outcome, every unit accounted for', async () => {
    const duel = await makeShop(srv, { skus: [{ code: 'DUEL', price: 1230, stock: 100 }] });
    const sku = duel.skus[0];
    const players = srv.shopperTokens.slice(0, 30);
    const orders = [];
    for (const token of players) {
        await clearCart(srv, token);
        want(await api(srv, 'POST', '/cart/items', { token, body: { sku_id: sku.id, qty: 2 } }), 200);
        const co = want(await checkoutAs(token), 201);
        orders.push({ token, id: co.orders[0].id });
    }
    const outcomes = await Promise.all(orders.map(async (o) => {
        const [pay, cancel] = await Promise.all([
            api(srv, 'POST', `/orders/${o.id}/pay`, { token: o.token, idem: uniq('p'), body: { method: 'sandbox' } }),
            api(srv, 'POST', `/orders/${o.id}/cancel`, { token: o.token }),
        ]);
        const final = (await api(srv, 'GET', `/orders/${o.id}`, { token: o.token })).json.status;
        return { pay: pay.status, payCode: pay.json?.code, cancel: cancel.status, cancelCode: cancel.json?.code, final };
    }));
    for (const x of outcomes) {
        // pay first → paid → cancel refunds; cancel first → pay is an invalid transition
        const ok = (x.pay === 200 && x.cancel === 200 && x.final === 'refunded')
            || (x.pay === 409 && x.payCode === 'invalid_transition' && x.cancel === 200 && x.final === 'cancelled');
        assert.ok(ok, JSON.stringify(x));
    }
    const s = await getSku(srv, sku.id);
    assert.deepEqual({ on_hand: s.on_hand, reserved: s.reserved, available: s.available, sold: s.sold },
        { on_hand: 100, reserved: 0, available: 100, sold: 0 }, JSON.stringify(outcomes));
    const l = await ledgerAll(srv, duel.merchant.id, duel.owner.token);
    assert.equal(l.items.reduce((a, e) => a + e.amount, 0), 0, 'refunds net the ledger to zero');
    assert.equal(l.balance.pending, 0);
    const refunded = outcomes.filter((x) => x.final === 'refunded').length;
    assert.equal(l.items.filter((e) => e.kind === 'sale').length, refunded);
    assert.equal(l.items.filter((e) => e.kind === 'refund').length, refunded);
});
