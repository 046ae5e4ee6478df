// Sales figures: GET /merchants/{id}/figures and GET /admin/figures — access
// (401/403/404 per docs/api-decisions.md), what is counted (paid orders on the day
// they were paid; unpaid and refunded orders are not), defaults and date validation.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, registerShopper, createActiveMerchant, addStaff, createCategory,
    createProduct, addToCart, clearCart, checkout, payCheckout, uniq,
} from './lib/harness.mjs';

let srv;
let owner; let staff; let otherOwner; let plain;
let shop; let other;
const paid = []; // checkouts paid in before()
let today;

const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);
const addDays = (d, n) => dayOf(Date.parse(`${d}T00:00:00Z`) + n * 86400000);

before(async () => {
    srv = await startServer();
    owner = await registerShopper(srv, 'fig-owner');
    staff = await registerShopper(srv, 'fig-staff');
    otherOwner = await registerShopper(srv, 'fig-other');
    plain = await registerShopper(srv, 'fig-plain');
    const cat = await createCategory(srv, uniq('Figures'));
    const m = await createActiveMerchant(srv, owner.token, { kind: 'sme' });
    await addStaff(srv, m.id, owner.token, staff.email);
    const p = await createProduct(srv, owner.token, {
        merchant_id: m.id, category_id: cat.id, title: uniq('Figure goods'),
        skus: [{ price: 1250, stock: 1000 }, { code: 'B', price: 799, stock: 1000 }],
    });
    shop = { merchant: m, product: p, skus: p.skus };
    const om = await createActiveMerchant(srv, otherOwner.token, { kind: 'factory' });
    const op = await createProduct(srv, otherOwner.token, {
        merchant_id: om.id, category_id: cat.id, title: uniq('Other goods'), skus: [{ price: 5000, stock: 100 }],
    });
    other = { merchant: om, product: op, skus: op.skus };

    // Two paid checkouts by two buyers: 3 × 1250 + 2 × 799 = 5348, and 1 × 1250 = 1250.
    const b1 = await registerShopper(srv, 'fig-buyer');
    const b2 = await registerShopper(srv, 'fig-buyer');
    await addToCart(srv, b1.token, shop.skus[0].id, 3);
    await addToCart(srv, b1.token, shop.skus[1].id, 2);
    const c1 = await checkout(srv, b1.token);
    await payCheckout(srv, b1.token, c1.id);
    await addToCart(srv, b2.token, shop.skus[0].id, 1);
    const c2 = await checkout(srv, b2.token);
    await payCheckout(srv, b2.token, c2.id);
    paid.push(c1, c2);
    today = dayOf(Date.now());

    // Not counted: an unpaid checkout, and a paid order that was then refunded.
    const b3 = await registerShopper(srv, 'fig-unpaid');
    await addToCart(srv, b3.token, shop.skus[0].id, 7);
    await checkout(srv, b3.token);
    const b4 = await registerShopper(srv, 'fig-refund');
    await addToCart(srv, b4.token, shop.skus[1].id, 4);
    const c4 = await checkout(srv, b4.token);
    await payCheckout(srv, b4.token, c4.id);
    want(await api(srv, 'POST', `/orders/${c4.orders[0].id}/cancel`, { token: b4.token }), 200);

    // The other merchant: one paid order by b1 (a buyer of both merchants).
    await clearCart(srv, b1.token);
    await addToCart(srv, b1.token, other.skus[0].id, 1);
    const c5 = await checkout(srv, b1.token);
    await payCheckout(srv, b1.token, c5.id);
});
after(async () => {
    await srv?.stop();
});

const figs = (id, q = '', token = owner.token) => api(srv, 'GET', `/merchants/${id}/figures${q}`, { token });

function checkShape(f) {
    for (const k of ['currency', 'from', 'to', 'days', 'totals']) assert.ok(k in f, `figures.${k}`);
    assert.match(f.from, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(f.to, /^\d{4}-\d{2}-\d{2}$/);
    for (const d of f.days) {
        assert.match(d.date, /^\d{4}-\d{2}-\d{2}$/);
        for (const k of ['gmv', 'orders', 'buyers', 'new_buyers']) assert.ok(Number.isInteger(d[k]), `day.${k}`);
    }
    for (const k of ['gmv', 'orders', 'buyers', 'new_buyers', 'units', 'basket_size', 'average_order_value']) {
        assert.equal(typeof f.totals[k], 'number', `totals.${k}`);
    }
}

describe('access', () => {
    test('401 without a token (both endpoints)', async () => {
        want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/figures`), 401, 'unauthorized');
        want(await api(srv, 'GET', '/admin/figures'), 401, 'unauthorized');
        want(await api(srv, 'GET', '/admin/figures', { token: 'bogus-token' }), 401, 'unauthorized');
    });

    test('merchant figures: owner, staff and operators 200; a user with no merchant 403; another merchant\'s staff 404', async () => {
        want(await figs(shop.merchant.id, '', owner.token), 200);
        want(await figs(shop.merchant.id, '', staff.token), 200);
        want(await figs(shop.merchant.id, '', srv.operatorToken), 200);
        want(await figs(shop.merchant.id, '', plain.token), 403, 'forbidden');
        want(await figs(shop.merchant.id, '', srv.courierToken), 403, 'forbidden');
        want(await figs(shop.merchant.id, '', otherOwner.token), 404, 'not_found');
        want(await figs(other.merchant.id, '', staff.token), 404, 'not_found');
        // unknown merchant: 404 for those who could read figures, 403 for a user with no merchant
        want(await figs('999999999999', '', srv.operatorToken), 404, 'not_found');
        want(await figs('999999999999', '', owner.token), 404, 'not_found');
        want(await figs('999999999999', '', plain.token), 403, 'forbidden');
    });

    test('platform figures: operators only (403 for shoppers, merchant owners and staff, couriers)', async () => {
        want(await api(srv, 'GET', '/admin/figures', { token: srv.operatorToken }), 200);
        for (const token of [plain.token, owner.token, staff.token, srv.courierToken]) {
            want(await api(srv, 'GET', '/admin/figures', { token }), 403, 'forbidden');
        }
    });
});

describe('what is counted', () => {
    test('after two paid checkouts today: orders 2, gmv = sum of subtotals, buyers 2 (unpaid and refunded left out)', async () => {
        const subtotals = paid.map((c) => c.orders[0].subtotal);
        assert.deepEqual(subtotals, [5348, 1250]);
        const f = want(await figs(shop.merchant.id), 200);
        checkShape(f);
        assert.equal(f.currency, 'USD');
        assert.equal(f.to, today, 'default window ends on the last day with a paid order');
        assert.equal(f.from, addDays(today, -29), 'and spans 30 days');
        assert.equal(f.days.length, 30);
        assert.deepEqual(f.days.map((d) => d.date), Array.from({ length: 30 }, (_, i) => addDays(f.from, i)));
        const d = f.days.find((x) => x.date === today);
        assert.ok(d, 'today is in the window');
        assert.deepEqual({ orders: d.orders, gmv: d.gmv, buyers: d.buyers, new_buyers: d.new_buyers },
            { orders: 2, gmv: 5348 + 1250, buyers: 2, new_buyers: 2 });
        for (const x of f.days) if (x.date !== today) assert.deepEqual([x.orders, x.gmv, x.buyers], [0, 0, 0], x.date);
        assert.equal(f.totals.orders, 2);
        assert.equal(f.totals.gmv, 6598);
        assert.equal(f.totals.buyers, 2);
        assert.equal(f.totals.new_buyers, 2);
        assert.equal(f.totals.units, 6, '3 + 2 + 1 units');
        assert.equal(f.totals.basket_size, 3);
        assert.equal(f.totals.average_order_value, 3299);

        // staff and operators see the same figures
        assert.deepEqual(want(await figs(shop.merchant.id, '', staff.token), 200), f);
        assert.deepEqual(want(await figs(shop.merchant.id, '', srv.operatorToken), 200), f);
    });

    test('?from=&to= today only; another currency has nothing; the other merchant has its own', async () => {
        const f = want(await figs(shop.merchant.id, `?from=${today}&to=${today}`), 200);
        assert.equal(f.from, today);
        assert.equal(f.to, today);
        assert.equal(f.days.length, 1);
        assert.equal(f.days[0].orders, 2);
        assert.equal(f.days[0].gmv, 6598);

        const y = want(await figs(shop.merchant.id, `?from=${addDays(today, -10)}&to=${addDays(today, -1)}`), 200);
        assert.equal(y.days.length, 10);
        assert.equal(y.totals.orders, 0);
        assert.equal(y.totals.gmv, 0);

        const eur = want(await figs(shop.merchant.id, `?currency=EUR&from=${today}&to=${today}`), 200);
        assert.equal(eur.currency, 'EUR');
        assert.equal(eur.totals.orders, 0);
        assert.equal(eur.totals.gmv, 0);

        const o = want(await figs(other.merchant.id, `?from=${today}&to=${today}`, otherOwner.token), 200);
        assert.deepEqual([o.totals.orders, o.totals.gmv, o.totals.buyers], [1, 5000, 1]);
    });

    test('platform figures count every merchant: 3 orders, gmv 11598, 2 distinct buyers today', async () => {
        const f = want(await api(srv, 'GET', `/admin/figures?from=${today}&to=${today}`, { token: srv.operatorToken }), 200);
        checkShape(f);
        assert.equal(f.currency, 'USD');
        assert.deepEqual([f.days[0].orders, f.days[0].gmv, f.days[0].buyers], [3, 11598, 2]);
        assert.deepEqual([f.totals.orders, f.totals.gmv, f.totals.buyers, f.totals.units], [3, 11598, 2, 7]);
        const d = want(await api(srv, 'GET', '/admin/figures', { token: srv.operatorToken }), 200);
        assert.equal(d.to, today);
        assert.equal(d.days.length, 30);
    });
});

describe('validation', () => {
    const BAD = [
        ['?from=2024-13-01', 'from'],
        ['?from=2024-02-30', 'from'],
        ['?from=20240101', 'from'],
        ['?from=2024-1-5', 'from'],
        ['?from=yesterday', 'from'],
        ['?from=2024-01-01T00:00:00Z', 'from'],
        ['?to=abc', 'to'],
        ['?to=2024-00-10', 'to'],
        ['?from=2024-03-10&to=2024-03-09', 'to'],
        ['?from=2020-01-01&to=2024-01-01', 'to'],
        ['?from=2024-01-01&to=2025-02-04', 'to'], // 401 days
        ['?currency=US', 'currency'],
        ['?currency=EURO', 'currency'],
    ];
    for (const [q, field] of BAD) {
        test(`${q} → 422 naming ${field}`, async () => {
            wantInvalid(await figs(shop.merchant.id, q), field);
            wantInvalid(await api(srv, 'GET', `/admin/figures${q}`, { token: srv.operatorToken }), field);
        });
    }

    test('400 days exactly is accepted; the window may lie in the future', async () => {
        const f = want(await figs(shop.merchant.id, '?from=2024-01-01&to=2025-02-03'), 200);
        assert.equal(f.days.length, 400);
        const g = want(await figs(shop.merchant.id, `?from=${addDays(today, 1)}&to=${addDays(today, 3)}`), 200);
        assert.equal(g.days.length, 3);
        assert.equal(g.totals.orders, 0);
        // from alone: the 30 days' default end does not apply before from
        const h = want(await figs(shop.merchant.id, `?from=${today}`), 200);
        assert.equal(h.from, today);
        assert.equal(h.totals.orders, 2);
    });

    test('an unauthorised caller with bad dates gets 401/403, not 422', async () => {
        want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/figures?from=bad`), 401);
        want(await figs(shop.merchant.id, '?from=bad', plain.token), 403);
        want(await api(srv, 'GET', '/admin/figures?from=bad', { token: plain.token }), 403);
    });
});
