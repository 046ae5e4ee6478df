// Merchants: create, approve, suspend, list, commission, staff, ledger, idempotent create.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, registerShopper, createMerchant, createActiveMerchant, addStaff,
    makeShop, buy, payCheckout, listAll,
} from './lib/harness.mjs';

let srv;
before(async () => {
    srv = await startServer();
});
after(async () => {
    await srv?.stop();
});

const KINDS = ['brand', 'sme', 'factory', 'exporter', 'rural', 'crossborder', 'individual'];
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('POST /merchants', () => {
    test('201 pending merchant with default commission 500 bp; caller becomes owner', async () => {
        const owner = await registerShopper(srv, 'owner');
        const name = uniq('Tea House');
        const r = await api(srv, 'POST', '/merchants', {
            token: owner.token,
            body: { name, kind: 'brand', country: 'CN', description: 'Longjing tea' },
        });
        const m = want(r, 201);
        assert.equal(typeof m.id, 'string');
        assert.equal(m.name, name);
        assert.equal(m.kind, 'brand');
        assert.equal(m.country, 'CN');
        assert.equal(m.description, 'Longjing tea');
        assert.equal(m.status, 'pending');
        assert.equal(m.commission_bp, 500);
        assert.match(m.created_at, RFC3339_UTC);
        const me = want(await api(srv, 'GET', '/me', { token: owner.token }), 200);
        assert.ok(me.merchants.some((x) => x.id === m.id && x.role === 'owner'));
    });

    test('every documented kind is accepted', async () => {
        const owner = await registerShopper(srv, 'owner');
        for (const kind of KINDS) {
            const m = await createMerchant(srv, owner.token, { kind });
            assert.equal(m.kind, kind);
        }
    });

    test('validation: kind, country alpha-2 upper-case, name', async () => {
        const owner = await registerShopper(srv, 'owner');
        const ok = { name: 'X', kind: 'sme', country: 'DE' };
        const cases = [
            [{ ...ok, kind: 'spaceship' }, 'kind'],
            [{ ...ok, kind: undefined }, 'kind'],
            [{ ...ok, country: 'de' }, 'country'],
            [{ ...ok, country: 'DEU' }, 'country'],
            [{ ...ok, country: 'D' }, 'country'],
            [{ ...ok, country: 49 }, 'country'],
            [{ ...ok, country: undefined }, 'country'],
            [{ ...ok, name: undefined }, 'name'],
            [{ ...ok, name: '' }, 'name'],
            [{ ...ok, name: 7 }, 'name'],
        ];
        for (const [body, field] of cases) {
            wantInvalid(await api(srv, 'POST', '/merchants', { token: owner.token, body }), field);
        }
    });

    test('anonymous → 401', async () => {
        want(await api(srv, 'POST', '/merchants', { body: { name: 'X', kind: 'sme', country: 'DE' } }), 401, 'unauthorized');
    });

    test('Idempotency-Key: same body replays the same merchant, different body → 422 idempotency_key_reused', async () => {
        const owner = await registerShopper(srv, 'owner');
        const key = uniq('merchant-key');
        const body = { name: uniq('Idem Shop'), kind: 'factory', country: 'VN' };
        const r1 = await api(srv, 'POST', '/merchants', { token: owner.token, idem: key, body });
        const m1 = want(r1, 201);
        assert.notEqual(r1.headers.get('idempotent-replayed'), 'true');
        const r2 = await api(srv, 'POST', '/merchants', { token: owner.token, idem: key, body });
        const m2 = want(r2, 201);
        assert.equal(r2.headers.get('idempotent-replayed'), 'true');
        assert.deepEqual(m2, m1);
        want(await api(srv, 'POST', '/merchants', { token: owner.token, idem: key, body: { ...body, name: 'Other' } }),
            422, 'idempotency_key_reused');
        const me = want(await api(srv, 'GET', '/me', { token: owner.token }), 200);
        assert.equal(me.merchants.length, 1, 'only one merchant was created');
        // keys are scoped to the caller: another user with the same key gets a new merchant
        const other = await registerShopper(srv, 'owner');
        const r3 = await api(srv, 'POST', '/merchants', { token: other.token, idem: key, body });
        const m3 = want(r3, 201);
        assert.notEqual(m3.id, m1.id);
        assert.notEqual(r3.headers.get('idempotent-replayed'), 'true');
    });

    test('Idempotency-Key must be 1..255 printable ASCII', async () => {
        const owner = await registerShopper(srv, 'owner');
        const body = { name: 'K', kind: 'sme', country: 'DE' };
        want(await api(srv, 'POST', '/merchants', { token: owner.token, idem: 'k'.repeat(256), body }), 422, 'invalid');
        want(await api(srv, 'POST', '/merchants', { token: owner.token, idem: 'k'.repeat(255), body }), 201);
    });
});

describe('approve, suspend, GET', () => {
    test('approve → 200 active; again → 200 unchanged; suspend → suspended', async () => {
        const owner = await registerShopper(srv, 'owner');
        const m = await createMerchant(srv, owner.token);
        const a = want(await api(srv, 'POST', `/merchants/${m.id}/approve`, { token: srv.operatorToken }), 200);
        assert.equal(a.id, m.id);
        assert.equal(a.status, 'active');
        const a2 = want(await api(srv, 'POST', `/merchants/${m.id}/approve`, { token: srv.operatorToken }), 200);
        assert.equal(a2.status, 'active');
        const g = want(await api(srv, 'GET', `/merchants/${m.id}`, { token: owner.token }), 200);
        assert.equal(g.status, 'active');
        const s = want(await api(srv, 'POST', `/merchants/${m.id}/suspend`, { token: srv.operatorToken }), 200);
        assert.equal(s.status, 'suspended');
        const g2 = want(await api(srv, 'GET', `/merchants/${m.id}`, { token: srv.operatorToken }), 200);
        assert.equal(g2.status, 'suspended');
    });

    test('owner cannot approve their own merchant (403)', async () => {
        const owner = await registerShopper(srv, 'owner');
        const m = await createMerchant(srv, owner.token);
        want(await api(srv, 'POST', `/merchants/${m.id}/approve`, { token: owner.token }), 403, 'forbidden');
        const g = want(await api(srv, 'GET', `/merchants/${m.id}`, { token: owner.token }), 200);
        assert.equal(g.status, 'pending');
    });

    test('unknown merchant id → 404', async () => {
        want(await api(srv, 'GET', '/merchants/999999999999'), 404, 'not_found');
        want(await api(srv, 'POST', '/merchants/999999999999/approve', { token: srv.operatorToken }), 404, 'not_found');
        want(await api(srv, 'PUT', '/merchants/999999999999/commission', { token: srv.operatorToken, body: { commission_bp: 1 } }),
            404, 'not_found');
    });

    test('GET /merchants/{id} of an active merchant is public', async () => {
        const owner = await registerShopper(srv, 'owner');
        const m = await createActiveMerchant(srv, owner.token, { kind: 'rural', country: 'TH' });
        const g = want(await api(srv, 'GET', `/merchants/${m.id}`), 200);
        assert.equal(g.id, m.id);
        assert.equal(g.kind, 'rural');
        assert.equal(g.country, 'TH');
        assert.equal(g.commission_bp, 500);
    });

    test('GET /merchants?kind=&status= filters', async () => {
        const owner = await registerShopper(srv, 'owner');
        const act = await createActiveMerchant(srv, owner.token, { kind: 'exporter' });
        const pend = await createMerchant(srv, owner.token, { kind: 'exporter' });
        const other = await createActiveMerchant(srv, owner.token, { kind: 'individual' });

        const byKind = await listAll(srv, '/merchants?kind=exporter', srv.operatorToken);
        assert.ok(byKind.every((m) => m.kind === 'exporter'));
        const ids = byKind.map((m) => m.id);
        assert.ok(ids.includes(act.id) && ids.includes(pend.id) && !ids.includes(other.id));

        const both = await listAll(srv, '/merchants?kind=exporter&status=active', srv.operatorToken);
        assert.ok(both.every((m) => m.kind === 'exporter' && m.status === 'active'));
        assert.ok(both.some((m) => m.id === act.id));
        assert.ok(!both.some((m) => m.id === pend.id));

        const pending = await listAll(srv, '/merchants?status=pending', srv.operatorToken);
        assert.ok(pending.every((m) => m.status === 'pending'));
        assert.ok(pending.some((m) => m.id === pend.id));

        // newest first
        const idsDesc = (await listAll(srv, '/merchants', srv.operatorToken)).map((m) => BigInt(m.id));
        for (let i = 1; i < idsDesc.length; i++) assert.ok(idsDesc[i - 1] > idsDesc[i], 'lists are id descending');

    });
});

describe('PUT /merchants/{id}/commission', () => {
    test('operator sets 0..10000; out of range or wrong type → 422', async () => {
        const owner = await registerShopper(srv, 'owner');
        const m = await createActiveMerchant(srv, owner.token);
        for (const bp of [0, 10000, 333]) {
            const r = want(await api(srv, 'PUT', `/merchants/${m.id}/commission`, {
                token: srv.operatorToken, body: { commission_bp: bp },
            }), 200);
            assert.equal(r.commission_bp, bp);
        }
        const g = want(await api(srv, 'GET', `/merchants/${m.id}`), 200);
        assert.equal(g.commission_bp, 333);
        for (const bad of [-1, 10001, 2.5, '500', null]) {
            wantInvalid(await api(srv, 'PUT', `/merchants/${m.id}/commission`, {
                token: srv.operatorToken, body: { commission_bp: bad },
            }), 'commission_bp');
        }
        wantInvalid(await api(srv, 'PUT', `/merchants/${m.id}/commission`, { token: srv.operatorToken, body: {} }),
            'commission_bp');
        want(await api(srv, 'PUT', `/merchants/${m.id}/commission`, { token: owner.token, body: { commission_bp: 0 } }),
            403, 'forbidden');
        assert.equal(want(await api(srv, 'GET', `/merchants/${m.id}`), 200).commission_bp, 333);
    });
});

describe('POST /merchants/{id}/staff', () => {
    test('owner adds staff → 201 {merchant_id, user_id, role: staff}; staff can list products for the merchant', async () => {
        const owner = await registerShopper(srv, 'owner');
        const staff = await registerShopper(srv, 'staff');
        const m = await createActiveMerchant(srv, owner.token);
        const r = want(await api(srv, 'POST', `/merchants/${m.id}/staff`, { token: owner.token, body: { email: staff.email } }), 201);
        assert.deepEqual({ merchant_id: r.merchant_id, user_id: r.user_id, role: r.role },
            { merchant_id: m.id, user_id: staff.id, role: 'staff' });
        const me = want(await api(srv, 'GET', '/me', { token: staff.token }), 200);
        assert.ok(me.merchants.some((x) => x.id === m.id && x.role === 'staff'));
        const cat = want(await api(srv, 'POST', '/categories', { token: srv.operatorToken, body: { name: uniq('c') } }), 201);
        want(await api(srv, 'POST', '/products', {
            token: staff.token,
            body: { merchant_id: m.id, category_id: cat.id, title: 'by staff', skus: [{ code: 'A', price: 1, currency: 'USD', stock: 1 }] },
        }), 201);
    });

    test('operator may add staff too; emails compare case-insensitively', async () => {
        const owner = await registerShopper(srv, 'owner');
        const staff = await registerShopper(srv, 'staff');
        const m = await createMerchant(srv, owner.token);
        const r = want(await api(srv, 'POST', `/merchants/${m.id}/staff`, {
            token: srv.operatorToken, body: { email: staff.email.toUpperCase() },
        }), 201);
        assert.equal(r.user_id, staff.id);
    });

    test('unknown email → 422 invalid naming email', async () => {
        const owner = await registerShopper(srv, 'owner');
        const m = await createMerchant(srv, owner.token);
        wantInvalid(await api(srv, 'POST', `/merchants/${m.id}/staff`, {
            token: owner.token, body: { email: `${uniq('ghost')}@example.test` },
        }), 'email');
    });

    test('staff cannot add staff (owner-only) → 403', async () => {
        const owner = await registerShopper(srv, 'owner');
        const staff = await registerShopper(srv, 'staff');
        const third = await registerShopper(srv, 'third');
        const m = await createMerchant(srv, owner.token);
        await addStaff(srv, m.id, owner.token, staff.email);
        want(await api(srv, 'POST', `/merchants/${m.id}/staff`, { token: staff.token, body: { email: third.email } }), 403, 'forbidden');
    });
});

describe('GET /merchants/{id}/ledger', () => {
    test('new merchant: zero balance, no items', async () => {
        const owner = await registerShopper(srv, 'owner');
        const m = await createActiveMerchant(srv, owner.token);
        const l = want(await api(srv, 'GET', `/merchants/${m.id}/ledger`, { token: owner.token }), 200);
        assert.equal(l.balance.pending, 0);
        assert.equal(l.balance.available, 0);
        assert.deepEqual(l.items, []);
    });

    test('paid order books sale + negative commission (round half up); complete moves pending → available', async () => {
        const shop = await makeShop(srv, { skus: [{ price: 506, stock: 10 }] });
        // 1250 bp of 1012 = 126.5 → 127 (half up; half-even would give 126)
        want(await api(srv, 'PUT', `/merchants/${shop.merchant.id}/commission`, {
            token: srv.operatorToken, body: { commission_bp: 1250 },
        }), 200);
        const buyer = await registerShopper(srv, 'buyer');
        const co = await buy(srv, buyer.token, shop.skus[0].id, 2);
        assert.equal(co.orders.length, 1);
        const order = co.orders[0];
        assert.equal(order.subtotal, 1012);

        let l = want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/ledger`, { token: shop.owner.token }), 200);
        assert.equal(l.items.length, 0, 'nothing booked before payment');

        await payCheckout(srv, buyer.token, co.id);
        l = want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/ledger`, { token: shop.owner.token }), 200);
        const mine = l.items.filter((e) => e.order_id === order.id);
        const sale = mine.filter((e) => e.kind === 'sale');
        const comm = mine.filter((e) => e.kind === 'commission');
        assert.equal(sale.length, 1, JSON.stringify(l.items));
        assert.equal(comm.length, 1, JSON.stringify(l.items));
        assert.equal(sale[0].amount, 1012);
        assert.equal(comm[0].amount, -127);
        assert.match(sale[0].created_at, RFC3339_UTC);
        assert.equal(l.balance.currency, 'USD');
        assert.equal(l.balance.pending, 1012 - 127);
        assert.equal(l.balance.available, 0);

        const paid = want(await api(srv, 'GET', `/orders/${order.id}`, { token: buyer.token }), 200);
        assert.equal(paid.commission_bp, 1250);
        assert.equal(Math.abs(paid.commission), 127);

        // operator reads it too
        want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/ledger`, { token: srv.operatorToken }), 200);

        want(await api(srv, 'POST', `/orders/${order.id}/ship`, { token: shop.owner.token, body: { carrier: 'SF', tracking: 'SF1' } }), 200);
        want(await api(srv, 'POST', `/orders/${order.id}/deliver`, { token: srv.courierToken }), 200);
        want(await api(srv, 'POST', `/orders/${order.id}/complete`, { token: buyer.token }), 200);
        l = want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/ledger`, { token: shop.owner.token }), 200);
        assert.equal(l.balance.pending, 0);
        assert.equal(l.balance.available, 1012 - 127);
    });

    test('commission uses the merchant default 500 bp: 1010 → 50.5 → 51', async () => {
        const shop = await makeShop(srv, { skus: [{ price: 1010, stock: 10 }] });
        const buyer = await registerShopper(srv, 'buyer');
        const co = await buy(srv, buyer.token, shop.skus[0].id, 1);
        await payCheckout(srv, buyer.token, co.id);
        const l = want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/ledger`, { token: shop.owner.token }), 200);
        const comm = l.items.filter((e) => e.kind === 'commission');
        assert.deepEqual(comm.map((e) => e.amount), [-51]);
        assert.equal(l.balance.pending, 1010 - 51);
    });

    test('staff of the merchant cannot read the owner-only ledger → 403', async () => {
        const shop = await makeShop(srv);
        const staff = await registerShopper(srv, 'staff');
        await addStaff(srv, shop.merchant.id, shop.owner.token, staff.email);
        want(await api(srv, 'GET', `/merchants/${shop.merchant.id}/ledger`, { token: staff.token }), 403, 'forbidden');
    });
});
