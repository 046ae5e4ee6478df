// Durability of the writes added with discovery and programs: a program and its
// enrolment, a SKU reprice and behaviour events are answered only after their
// commit, so a SIGKILL right after the answers loses none of them.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, want, uniq, makeShop, createProduct, sleep } from './lib/harness.mjs';

let srv;
before(async () => {
    srv = await startServer();
});
after(async () => {
    await srv?.stop();
});

test('a program, its enrolment, a reprice and behaviour events survive SIGKILL', async () => {
    const shop = await makeShop(srv, { merchant: { kind: 'rural' }, skus: [{ price: 1000, stock: 10 }] });
    const mk = (title) => createProduct(srv, shop.owner.token, {
        merchant_id: shop.merchant.id, category_id: shop.category.id, title, skus: [{ price: 500, stock: 10 }],
    });
    const a = shop.product, b = await mk('Bamboo tea whisk'), c = await mk('Celadon tea bowl');
    const now = Date.now();
    const program = want(await api(srv, 'POST', '/programs', {
        token: srv.operatorToken,
        body: {
            name: uniq('Rural spring'), commission_bp: 150, boost: 1.3, eligible_kinds: ['rural'],
            starts_at: new Date(now - 3600e3).toISOString(), ends_at: new Date(now + 3600e3).toISOString(),
        },
    }), 201);
    want(await api(srv, 'POST', `/programs/${program.id}/enroll`, {
        token: srv.operatorToken, body: { merchant_id: shop.merchant.id },
    }), 200);
    want(await api(srv, 'PATCH', `/skus/${shop.skus[0].id}`, { token: shop.owner.token, body: { price: 777 } }), 200);
    // Three sessions view a and b together; the fourth views only a. After the
    // restart its feed can only offer b "because you viewed" a if both the
    // co-views (the training) and its own view (its history) came back.
    const view = async (session, p) =>
        assert.ok([200, 201, 202].includes((await api(srv, 'POST', '/events', {
            body: { kind: 'view', product_id: p.id, session },
        })).status));
    for (let i = 0; i < 3; i++) {
        const s = uniq('together');
        await view(s, a);
        await view(s, b);
    }
    const me = uniq('returning');
    await view(me, a);
    await view(uniq('other'), c);

    await srv.kill9();
    await srv.restart();

    const p = want(await api(srv, 'GET', `/programs/${program.id}`, { token: srv.operatorToken }), 200);
    assert.deepEqual(p.merchant_ids, [shop.merchant.id], 'the enrolment came back');
    assert.equal(p.commission_bp, 150);
    const prod = want(await api(srv, 'GET', `/products/${a.id}`), 200);
    assert.equal(prod.skus[0].price, 777, 'the reprice came back');
    // Discovery reloads and trains in its own thread after the start.
    let feed, hit;
    for (let i = 0; i < 50 && !hit; i++) {
        feed = want(await api(srv, 'GET', `/feed?session=${me}`), 200);
        hit = feed.items.find((it) => it.product_id === b.id);
        if (!hit) await sleep(100);
    }
    assert.ok(hit, `b is in the returning session's feed: ${JSON.stringify(feed.items.map((i) => i.product_id))}`);
    assert.equal(hit.reason.kind, 'because_you_viewed');
});
