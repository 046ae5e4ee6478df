// Accounts: register, login, /me (API.md "Accounts"; api-decisions "Accounts, merchants").
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, registerShopper, createMerchant, addStaff, OPERATOR, COURIER,
} from './lib/harness.mjs';

let srv;
before(async () => {
    srv = await startServer();
});
after(async () => {
    await srv?.stop();
});

const email = (p = 'acct') => `${uniq(p)}@example.test`;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('POST /auth/register', () => {
    test('201 with {user: {id, email, name, role: shopper}, token}', async () => {
        const e = email();
        const r = await api(srv, 'POST', '/auth/register', { body: { email: e, password: 'password1', name: 'Ana' } });
        const j = want(r, 201);
        assert.match(r.headers.get('content-type') || '', /^application\/json/);
        assert.equal(typeof j.user.id, 'string', 'ids are strings');
        assert.match(j.user.id, /^\d+$/);
        assert.equal(j.user.email, e);
        assert.equal(j.user.name, 'Ana');
        assert.equal(j.user.role, 'shopper');
        assert.equal(typeof j.token, 'string');
        assert.ok(j.token.length >= 16, 'token looks like a bearer token');
        assert.equal(j.user.password, undefined, 'no password in the answer');
        assert.equal(j.user.password_hash, undefined);
    });

    test('token from register works on /me', async () => {
        const s = await registerShopper(srv);
        const me = want(await api(srv, 'GET', '/me', { token: s.token }), 200);
        assert.equal(me.id, s.id);
        assert.equal(me.email, s.email);
        assert.equal(me.role, 'shopper');
        assert.deepEqual(me.merchants, []);
    });

    test('409 email_taken, also when only the case differs', async () => {
        const e = email('dup');
        want(await api(srv, 'POST', '/auth/register', { body: { email: e, password: 'password1', name: 'A' } }), 201);
        want(await api(srv, 'POST', '/auth/register', { body: { email: e, password: 'password2', name: 'B' } }), 409, 'email_taken');
        want(await api(srv, 'POST', '/auth/register', { body: { email: e.toUpperCase(), password: 'password2', name: 'B' } }),
            409, 'email_taken');
    });

    test('password under 8 chars → 422 naming password; exactly 8 is fine; over 128 → 422', async () => {
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: '1234567', name: 'A' } }), 'password');
        want(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: '12345678', name: 'A' } }), 201);
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'x'.repeat(129), name: 'A' } }),
            'password');
        want(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'x'.repeat(128), name: 'A' } }), 201);
    });

    test('email rules: one @, ≤ 254 chars', async () => {
        for (const bad of ['no-at-sign.example', 'two@@example.test', 'a@b@c.test', '', `${'a'.repeat(250)}@x.io`]) {
            wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: bad, password: 'password1', name: 'A' } }), 'email');
        }
        const ok254 = `${(uniq('l') + 'a'.repeat(300)).slice(0, 254 - '@example.test'.length)}@example.test`;
        assert.equal(ok254.length, 254);
        want(await api(srv, 'POST', '/auth/register', { body: { email: ok254, password: 'password1', name: 'A' } }), 201);
    });

    test('name 1..100 chars', async () => {
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'password1', name: '' } }), 'name');
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'password1', name: 'n'.repeat(101) } }),
            'name');
        want(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'password1', name: 'n'.repeat(100) } }), 201);
        // UTF-8: 100 characters of CJK is still 100 characters
        want(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'password1', name: '商'.repeat(100) } }), 201);
    });

    test('missing fields and wrong types → 422 with errors[].field', async () => {
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { password: 'password1', name: 'A' } }), 'email');
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), name: 'A' } }), 'password');
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'password1' } }), 'name');
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: 42, password: 'password1', name: 'A' } }), 'email');
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 12345678, name: 'A' } }), 'password');
        wantInvalid(await api(srv, 'POST', '/auth/register', { body: { email: email(), password: 'password1', name: ['A'] } }), 'name');
    });

    test('a client cannot choose its role', async () => {
        const r = want(await api(srv, 'POST', '/auth/register', {
            body: { email: email(), password: 'password1', name: 'Mallory', role: 'operator' },
        }), [201, 422]);
        if (r && r.user) assert.equal(r.user.role, 'shopper');
    });

    test('UTF-8 names round-trip', async () => {
        const e = email();
        const j = want(await api(srv, 'POST', '/auth/register', { body: { email: e, password: 'password1', name: 'Zoë 李雷 🚀' } }), 201);
        assert.equal(j.user.name, 'Zoë 李雷 🚀');
        const me = want(await api(srv, 'GET', '/me', { token: j.token }), 200);
        assert.equal(me.name, 'Zoë 李雷 🚀');
    });
});

describe('POST /auth/login', () => {
    test('200 {token, user}; the new token works', async () => {
        const s = await registerShopper(srv);
        const j = want(await api(srv, 'POST', '/auth/login', { body: { email: s.email, password: s.password } }), 200);
        assert.equal(typeof j.token, 'string');
        assert.equal(j.user.id, s.id);
        assert.equal(j.user.email, s.email);
        assert.equal(j.user.role, 'shopper');
        const me = want(await api(srv, 'GET', '/me', { token: j.token }), 200);
        assert.equal(me.id, s.id);
        // the register token still works too
        want(await api(srv, 'GET', '/me', { token: s.token }), 200);
    });

    test('emails compare case-insensitively', async () => {
        const s = await registerShopper(srv);
        const j = want(await api(srv, 'POST', '/auth/login', { body: { email: s.email.toUpperCase(), password: s.password } }), 200);
        assert.equal(j.user.id, s.id);
    });

    test('wrong password and unknown email → 401 bad_credentials', async () => {
        const s = await registerShopper(srv);
        want(await api(srv, 'POST', '/auth/login', { body: { email: s.email, password: 'wrong-password' } }), 401, 'bad_credentials');
        want(await api(srv, 'POST', '/auth/login', { body: { email: email('nobody'), password: 'whatever1' } }), 401, 'bad_credentials');
    });

    test('missing fields → 422', async () => {
        wantInvalid(await api(srv, 'POST', '/auth/login', { body: { email: 'x@y.test' } }), 'password');
        wantInvalid(await api(srv, 'POST', '/auth/login', { body: { password: 'password1' } }), 'email');
    });

    test('users created offline with `souk user add` can log in with their role', async () => {
        const op = want(await api(srv, 'POST', '/auth/login', { body: OPERATOR }), 200);
        assert.equal(op.user.role, 'operator');
        const co = want(await api(srv, 'POST', '/auth/login', { body: COURIER }), 200);
        assert.equal(co.user.role, 'courier');
        const me = want(await api(srv, 'GET', '/me', { token: srv.operatorToken }), 200);
        assert.equal(me.role, 'operator');
        assert.equal(me.email, OPERATOR.email);
    });
});

describe('GET /me', () => {
    test('401 unauthorized without a token, with an unknown token, with a malformed header', async () => {
        want(await api(srv, 'GET', '/me'), 401, 'unauthorized');
        want(await api(srv, 'GET', '/me', { token: 'not-a-real-token' }), 401, 'unauthorized');
        want(await api(srv, 'GET', '/me', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }), 401, 'unauthorized');
        want(await api(srv, 'GET', '/me', { headers: { authorization: 'Bearer' } }), 401, 'unauthorized');
    });

    test('lists merchants with role owner/staff', async () => {
        const owner = await registerShopper(srv, 'owner');
        const staff = await registerShopper(srv, 'staff');
        const m = await createMerchant(srv, owner.token, { name: 'Owned Shop' });
        await addStaff(srv, m.id, owner.token, staff.email);

        const meOwner = want(await api(srv, 'GET', '/me', { token: owner.token }), 200);
        assert.deepEqual(meOwner.merchants.map((x) => ({ id: x.id, name: x.name, role: x.role })),
            [{ id: m.id, name: 'Owned Shop', role: 'owner' }]);
        const meStaff = want(await api(srv, 'GET', '/me', { token: staff.token }), 200);
        assert.deepEqual(meStaff.merchants.map((x) => ({ id: x.id, name: x.name, role: x.role })),
            [{ id: m.id, name: 'Owned Shop', role: 'staff' }]);
        assert.equal(meStaff.role, 'shopper', 'being staff does not change the user role');
    });

    test('created_at, if present, is RFC 3339 UTC', async () => {
        const s = await registerShopper(srv);
        const me = want(await api(srv, 'GET', '/me', { token: s.token }), 200);
        if (me.created_at !== undefined) assert.match(me.created_at, RFC3339_UTC);
    });
});
