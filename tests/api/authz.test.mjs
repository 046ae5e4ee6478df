// Authorization matrix: every endpoint of API.md's Accounts, Merchants, Catalog,
// Cart/checkout/payment and Orders sections, called as each kind of caller.
//
// Rule (docs/api-decisions.md): no/unknown token → 401; a caller whose role can never
// do the thing → 403; a caller who could do it to their own object but names someone
// else's → 404. The table below is that rule applied per endpoint.
//
// A cell is a status, or silent(a, b): API.md and api-decisions.md do not decide between
// those answers (e.g. an operator paying a shopper's order), so either passes.
// A missing cell means the call is not made for that caller.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, uniq, registerShopper, createActiveMerchant, createMerchant, addStaff, createCategory,
    createProduct, addToCart, clearCart, checkout, ADDRESS, want,
} from './lib/harness.mjs';

const silent = (...any) => ({ any });
const ACTORS = ['anon', 'shopper', 'other', 'staff', 'owner', 'otherStaff', 'otherOwner', 'operator', 'courier'];

let srv;
const F = {}; // fixture
const tok = {}; // actor → token (anon: undefined)

before(async () => {
    srv = await startServer();
    const [owner, staff, otherOwner, otherStaff, shopper, other] = await Promise.all(
        ['owner', 'staff', 'oowner', 'ostaff', 'shopper', 'other'].map((p) => registerShopper(srv, p)));
    Object.assign(F, { owner, staff, otherOwner, otherStaff, shopper, other });
    F.M = await createActiveMerchant(srv, owner.token);
    await addStaff(srv, F.M.id, owner.token, staff.email);
    F.N = await createActiveMerchant(srv, otherOwner.token);
    await addStaff(srv, F.N.id, otherOwner.token, otherStaff.email);
    F.Q = await createMerchant(srv, owner.token); // stays pending
    await addStaff(srv, F.Q.id, owner.token, staff.email);
    F.cat = await createCategory(srv);
    F.P = await createProduct(srv, owner.token, {
        merchant_id: F.M.id, category_id: F.cat.id,
        skus: [{ code: 'S', price: 100, stock: 100000 }, { code: 'T', price: 100, stock: 1000 }],
    });
    F.S = F.P.skus.find((s) => s.code === 'S');
    F.T = F.P.skus.find((s) => s.code === 'T');
    F.PQ = await createProduct(srv, owner.token, { merchant_id: F.Q.id, category_id: F.cat.id, skus: [{ price: 1, stock: 1 }] });
    F.PN = await createProduct(srv, otherOwner.token, { merchant_id: F.N.id, category_id: F.cat.id, skus: [{ price: 1, stock: 1 }] });
    // a checkout and an order of `shopper` to read
    F.C = await buyAsShopper();
    F.O = F.C.orders[0];

    Object.assign(tok, {
        anon: undefined,
        shopper: shopper.token,
        other: other.token,
        staff: staff.token,
        owner: owner.token,
        otherStaff: otherStaff.token,
        otherOwner: otherOwner.token,
        operator: srv.operatorToken,
        courier: srv.courierToken,
    });
});
after(async () => {
    await srv?.stop();
});

async function buyAsShopper() {
    await clearCart(srv, F.shopper.token);
    await addToCart(srv, F.shopper.token, F.S.id, 1);
    return checkout(srv, F.shopper.token);
}

/** A fresh order of `shopper` at merchant M in `state`. */
async function orderIn(state) {
    const co = await buyAsShopper();
    const id = co.orders[0].id;
    const moves = { pending_payment: 0, paid: 1, shipped: 2, delivered: 3 }[state];
    if (moves >= 1) want(await api(srv, 'POST', `/orders/${id}/pay`, { token: F.shopper.token, idem: uniq('p'), body: { method: 'sandbox' } }), 200);
    if (moves >= 2) want(await api(srv, 'POST', `/orders/${id}/ship`, { token: F.staff.token, body: {} }), 200);
    if (moves >= 3) want(await api(srv, 'POST', `/orders/${id}/deliver`, { token: srv.courierToken }), 200);
    return { id, checkoutId: co.id };
}

/** Puts one unit of S into the caller's cart (no-op for anonymous). */
async function cartWithS(actor) {
    const t = tok[actor];
    if (!t) return;
    // tolerant: for callers the table allows to be refused, the setup must not fail first
    const cart = await api(srv, 'GET', '/cart', { token: t });
    if (cart.status !== 200) return;
    for (const it of cart.json.items) await api(srv, 'DELETE', `/cart/items/${it.sku_id}`, { token: t });
    await api(srv, 'POST', '/cart/items', { token: t, body: { sku_id: F.S.id, qty: 1 } });
}

// Shorthands for common rows.
const ALL = (s) => Object.fromEntries(ACTORS.map((a) => [a, s]));
const PUBLIC = ALL(200);
const SIGNED_IN = (s) => ({ ...ALL(s), anon: 401 });
const OPERATOR_ONLY = (s) => ({ ...ALL(403), anon: 401, operator: s });
const CART = (s) => ({ ...SIGNED_IN(s), operator: silent(s, 403), courier: silent(s, 403) });
// merchant-staff endpoints on merchant M's object. Operators are not named by API.md for
// these (they are named where they may act: deliver, cancel, staff, ledger) → 403.
const MERCHANT_STAFF = (s) => ({
    anon: 401, shopper: 403, other: 403, staff: s, owner: s, otherStaff: 404, otherOwner: 404, operator: 403, courier: 403,
});

// [method, path, expectations, {setup(actor) → ctx, path(ctx), body(ctx), idem}]
const MATRIX = [
    // --- Accounts
    ['POST', '/auth/register', ALL(201), {
        body: () => ({ email: `${uniq('reg')}@example.test`, password: 'password1', name: 'R' }),
    }],
    ['POST', '/auth/login', ALL(200), { body: () => ({ email: F.shopper.email, password: F.shopper.password }) }],
    ['GET', '/me', SIGNED_IN(200)],

    // --- Merchants (POST /merchants is last: it makes the caller an owner)
    ['GET', '/merchants/{M}', PUBLIC],
    ['GET', '/merchants', PUBLIC],
    ['POST', '/merchants/{M}/approve', OPERATOR_ONLY(200)],
    ['POST', '/merchants/{X}/suspend', OPERATOR_ONLY(200), {
        // a fresh active merchant owned by `owner` each time (suspending M would break the fixture)
        setup: async () => ({ X: (await createActiveMerchant(srv, F.owner.token)).id }),
    }],
    ['PUT', '/merchants/{M}/commission', OPERATOR_ONLY(200), { body: () => ({ commission_bp: 500 }) }],
    ['GET', '/merchants/{M}/ledger', {
        anon: 401, shopper: 403, other: 403, staff: 403, owner: 200,
        otherStaff: 404, otherOwner: 404, operator: 200, courier: 403,
    }],
    ['POST', '/merchants/{M}/staff', {
        anon: 401, shopper: 403, other: 403, staff: 403, owner: 201,
        // plain staff of N can never add staff, yet names someone else's merchant
        otherStaff: silent(403, 404), otherOwner: 404, operator: 201, courier: 403,
    }, {
        setup: async () => ({ email: (await registerShopper(srv, 'newstaff')).email }),
        body: (c) => ({ email: c.email }),
    }],

    // --- Catalog
    ['POST', '/categories', OPERATOR_ONLY(201), { body: () => ({ name: uniq('c') }) }],
    ['GET', '/categories', PUBLIC],
    ['POST', '/products', MERCHANT_STAFF(201), {
        body: () => ({ merchant_id: F.M.id, category_id: F.cat.id, title: 'p', skus: [{ code: 'A', price: 1, currency: 'USD', stock: 1 }] }),
    }],
    ['GET', '/products/{P}', PUBLIC],
    ['GET', '/products/{PQ}', {
        // product of a pending merchant: its staff and operators only
        anon: 404, shopper: 404, other: 404, staff: 200, owner: 200, otherStaff: 404, otherOwner: 404, operator: 200, courier: 404,
    }],
    ['GET', '/products?merchant_id={M}', PUBLIC],
    ['GET', '/products?category_id={cat}', PUBLIC],
    // API.md names no role for PATCH (POST /products and PUT stock say "merchant staff")
    ['PATCH', '/products/{P}', { ...MERCHANT_STAFF(200), operator: silent(200, 403) }, { body: () => ({ title: 'renamed' }) }],
    ['PUT', '/skus/{T}/stock', MERCHANT_STAFF(200), { body: () => ({ on_hand: 1000 }) }],
    ['GET', '/skus/{S}', PUBLIC],

    // --- Cart, checkout, payment. Any signed-in user may shop; whether operators and
    // couriers have carts is not written down.
    ['GET', '/cart', CART(200)],
    ['POST', '/cart/items', CART(200), { body: () => ({ sku_id: F.S.id, qty: 1 }) }],
    ['PATCH', '/cart/items/{S}', CART(200), { setup: cartWithS, body: () => ({ qty: 2 }) }],
    ['DELETE', '/cart/items/{S}', CART(200), { setup: cartWithS }],
    ['POST', '/checkout', CART(201), { setup: cartWithS, idem: true, body: () => ({ shipping_address: ADDRESS }) }],
    ['GET', '/checkout/{C}', {
        // operators see all orders; whether that includes the checkout is not written down
        anon: 401, shopper: 200, other: 404, staff: 404, owner: 404, otherStaff: 404, otherOwner: 404, operator: silent(200, 404),
    }],
    ['POST', '/checkout/{c}/pay', {
        anon: 401, shopper: 200, other: 404, staff: 404, owner: 404, otherStaff: 404, otherOwner: 404,
        operator: silent(403, 404),
    }, {
        setup: async () => ({ c: (await buyAsShopper()).id }), idem: true, body: () => ({ method: 'sandbox' }),
    }],
    ['POST', '/orders/{o}/pay', {
        anon: 401, shopper: 200, other: 404, staff: silent(403, 404), owner: silent(403, 404),
        otherStaff: 404, otherOwner: 404, operator: silent(403, 404),
    }, {
        setup: async () => ({ o: (await orderIn('pending_payment')).id }), idem: true, body: () => ({ method: 'sandbox' }),
    }],

    // --- Orders
    ['GET', '/orders', SIGNED_IN(200)],
    ['GET', '/orders?status=paid', SIGNED_IN(200)],
    ['GET', '/orders/{O}', {
        anon: 401, shopper: 200, other: 404, staff: 200, owner: 200, otherStaff: 404, otherOwner: 404, operator: 200,
    }],
    ['POST', '/orders/{o}/cancel', {
        anon: 401, shopper: 200, other: 404, staff: 200, owner: 200, otherStaff: 404, otherOwner: 404, operator: 200,
    }, { setup: async () => ({ o: (await orderIn('pending_payment')).id }) }],
    ['POST', '/orders/{o}/ship', MERCHANT_STAFF(200), {
        setup: async () => ({ o: (await orderIn('paid')).id }), body: () => ({ carrier: 'SF', tracking: 'X1' }),
    }],
    ['POST', '/orders/{o}/deliver', {
        anon: 401, shopper: 403, other: 403, staff: 200, owner: 200, otherStaff: 404, otherOwner: 404, operator: 200, courier: 200,
    }, { setup: async () => ({ o: (await orderIn('shipped')).id }) }],
    ['POST', '/orders/{o}/complete', {
        anon: 401, shopper: 200, other: 404, staff: silent(403, 404), owner: silent(403, 404), otherStaff: 404, otherOwner: 404,
        operator: silent(403, 404), courier: silent(403, 404),
    }, { setup: async () => ({ o: (await orderIn('delivered')).id }) }],

    // --- last: creating a merchant turns the caller into an owner
    ['POST', '/merchants', { ...SIGNED_IN(201) }, { body: () => ({ name: uniq('m'), kind: 'sme', country: 'CN' }) }],
];

function fill(pathTpl, ctx) {
    return pathTpl.replace(/\{(\w+)\}/g, (_, k) => {
        const v = ctx[k] ?? F[k];
        if (v === undefined) throw new Error(`no value for {${k}} in ${pathTpl}`);
        return typeof v === 'object' ? v.id : v;
    });
}

function expectedText(e) {
    return typeof e === 'object' ? e.any.join('|') : String(e);
}

test('the matrix names every (method, path) of the five sections', () => {
    const documented = [
        'POST /auth/register', 'POST /auth/login', 'GET /me',
        'POST /merchants', 'POST /merchants/{}/approve', 'GET /merchants/{}', 'GET /merchants', 'PUT /merchants/{}/commission',
        'GET /merchants/{}/ledger', 'POST /merchants/{}/staff', 'POST /merchants/{}/suspend',
        'POST /categories', 'GET /categories', 'POST /products', 'GET /products/{}', 'GET /products', 'PATCH /products/{}',
        'PUT /skus/{}/stock', 'GET /skus/{}',
        'GET /cart', 'POST /cart/items', 'PATCH /cart/items/{}', 'DELETE /cart/items/{}', 'POST /checkout', 'GET /checkout/{}',
        'POST /checkout/{}/pay', 'POST /orders/{}/pay',
        'GET /orders', 'GET /orders/{}', 'POST /orders/{}/cancel', 'POST /orders/{}/ship', 'POST /orders/{}/deliver',
        'POST /orders/{}/complete',
    ];
    const inMatrix = new Set(MATRIX.map(([m, p]) => `${m} ${p.split('?')[0].replace(/\{\w+\}/g, '{}')}`));
    for (const d of documented) assert.ok(inMatrix.has(d), `matrix lacks ${d}`);
    for (const [, , exp] of MATRIX) {
        for (const a of ['anon', 'shopper', 'other', 'staff', 'otherStaff', 'operator']) assert.ok(a in exp);
    }
});

for (const [method, pathTpl, expect, opts = {}] of MATRIX) {
    test(`${method} ${pathTpl}`, async () => {
        const wrong = [];
        for (const actor of ACTORS) {
            const e = expect[actor];
            if (e === undefined) continue;
            const ctx = (opts.setup ? await opts.setup(actor) : null) || {};
            const p = fill(pathTpl, ctx);
            const r = await api(srv, method, p, {
                token: tok[actor],
                body: opts.body ? opts.body(ctx) : method === 'GET' || method === 'DELETE' ? undefined : {},
                idem: opts.idem ? uniq('authz') : undefined,
            });
            const okStatus = typeof e === 'object' ? e.any.includes(r.status) : r.status === e;
            const codeFor = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' };
            const okCode = !codeFor[r.status] || r.json?.code === codeFor[r.status];
            if (!okStatus || !okCode) {
                wrong.push(`  ${actor.padEnd(10)} want ${expectedText(e).padEnd(7)} got ${r.status} ${r.status >= 300 ? r.text.slice(0, 160) : ''}`);
            }
        }
        assert.ok(wrong.length === 0, `${method} ${pathTpl}:\n${wrong.join('\n')}`);
    });
}
