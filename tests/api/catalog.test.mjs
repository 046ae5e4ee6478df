// Catalog: category tree, products, SKUs, price tiers, MOQ, stock, visibility, archive.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, registerShopper, createMerchant, createActiveMerchant, addStaff,
    createCategory, createProduct, makeShop, addToCart, buy, getSku, listAll,
} from './lib/harness.mjs';

let srv;
before(async () => {
    srv = await startServer();
});
after(async () => {
    await srv?.stop();
});

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function findNode(nodes, id) {
    for (const n of nodes) {
        if (n.id === id) return n;
        const c = findNode(n.children || [], id);
        if (c) return c;
    }
    return null;
}

describe('categories', () => {
    test('POST builds a tree; GET /categories returns it nested', async () => {
        const root = await createCategory(srv, uniq('Food'));
        assert.equal(typeof root.id, 'string');
        assert.equal(root.parent_id, null);
        assert.ok(root.path !== undefined, 'path is present');
        const child = await createCategory(srv, uniq('Tea'), root.id);
        assert.equal(child.parent_id, root.id);
        const grand = await createCategory(srv, uniq('Green tea'), child.id);
        assert.equal(grand.parent_id, child.id);
        assert.notDeepEqual(grand.path, child.path);

        const tree = want(await api(srv, 'GET', '/categories'), 200);
        assert.ok(Array.isArray(tree), 'GET /categories is an array of root nodes');
        const r = tree.find((n) => n.id === root.id);
        assert.ok(r, 'root is at the top level');
        assert.equal(r.name, root.name);
        assert.ok(!tree.some((n) => n.id === child.id), 'a child is not a root');
        const c = r.children.find((n) => n.id === child.id);
        assert.ok(c, 'child under root');
        const g = c.children.find((n) => n.id === grand.id);
        assert.ok(g, 'grandchild under child');
        assert.deepEqual(g.children, []);
    });

    test('validation: name required, parent must exist', async () => {
        wantInvalid(await api(srv, 'POST', '/categories', { token: srv.operatorToken, body: {} }), 'name');
        wantInvalid(await api(srv, 'POST', '/categories', { token: srv.operatorToken, body: { name: '' } }), 'name');
        wantInvalid(await api(srv, 'POST', '/categories', {
            token: srv.operatorToken, body: { name: 'orphan', parent_id: '999999999999' },
        }), 'parent_id');
    });

    test('only operators create categories', async () => {
        const s = await registerShopper(srv);
        want(await api(srv, 'POST', '/categories', { token: s.token, body: { name: 'x' } }), 403, 'forbidden');
        want(await api(srv, 'POST', '/categories', { body: { name: 'x' } }), 401, 'unauthorized');
    });
});

describe('products', () => {
    let owner;
    let merchant;
    let cat;
    before(async () => {
        owner = await registerShopper(srv, 'owner');
        merchant = await createActiveMerchant(srv, owner.token);
        cat = await createCategory(srv);
    });

    const sku = (o = {}) => ({ code: 'A', price: 1000, currency: 'USD', stock: 5, ...o });
    const body = (o = {}) => ({ merchant_id: merchant.id, category_id: cat.id, title: 'Silk scarf', skus: [sku()], ...o });

    test('201 product with skus; GET returns the same', async () => {
        const r = await api(srv, 'POST', '/products', {
            token: owner.token,
            body: body({
                description: 'hand made',
                attributes: { material: 'silk' },
                skus: [
                    sku({ code: 'RED', attrs: { color: 'red' }, price: 1999, stock: 7 }),
                    sku({ code: 'BULK', attrs: { color: 'blue' }, price: 1000, stock: 500,
                        price_tiers: [{ min_qty: 10, price: 900 }, { min_qty: 100, price: 800 }], moq: 5 }),
                ],
            }),
        });
        const p = want(r, 201);
        assert.equal(typeof p.id, 'string');
        assert.equal(p.merchant_id, merchant.id);
        assert.equal(p.category_id, cat.id);
        assert.equal(p.title, 'Silk scarf');
        assert.equal(p.description, 'hand made');
        assert.deepEqual(p.attributes, { material: 'silk' });
        assert.equal(p.status, 'active');
        assert.match(p.created_at, RFC3339_UTC);
        assert.match(p.updated_at, RFC3339_UTC);
        assert.equal(p.skus.length, 2);
        const red = p.skus.find((s) => s.code === 'RED');
        const bulk = p.skus.find((s) => s.code === 'BULK');
        assert.equal(typeof red.id, 'string');
        assert.deepEqual(red.attrs, { color: 'red' });
        assert.equal(red.price, 1999);
        assert.equal(red.currency, 'USD');
        assert.equal(red.on_hand, 7);
        assert.equal(red.available, 7);
        assert.deepEqual(bulk.price_tiers, [{ min_qty: 10, price: 900 }, { min_qty: 100, price: 800 }]);
        assert.equal(bulk.moq, 5);

        const g = want(await api(srv, 'GET', `/products/${p.id}`), 200);
        for (const k of ['id', 'merchant_id', 'category_id', 'title', 'description', 'attributes', 'status', 'created_at']) {
            assert.deepEqual(g[k], p[k], `GET /products/{id} .${k}`);
        }
        assert.deepEqual(g.skus.map((x) => [x.id, x.code, x.price, x.on_hand]), p.skus.map((x) => [x.id, x.code, x.price, x.on_hand]));

        const s = want(await api(srv, 'GET', `/skus/${red.id}`), 200);
        assert.equal(s.id, red.id);
        assert.equal(s.product_id, p.id);
        assert.equal(s.code, 'RED');
        assert.equal(s.price, 1999);
        assert.equal(s.currency, 'USD');
        assert.equal(s.on_hand, 7);
        assert.equal(s.reserved, 0);
        assert.equal(s.available, 7);
        assert.equal(s.sold, 0);
    });

    test('staff (not only the owner) can create products', async () => {
        const staff = await registerShopper(srv, 'staff');
        await addStaff(srv, merchant.id, owner.token, staff.email);
        want(await api(srv, 'POST', '/products', { token: staff.token, body: body() }), 201);
    });

    test('validation → 422 naming the field', async () => {
        const hundredOne = Array.from({ length: 101 }, (_, i) => sku({ code: `C${i}` }));
        const cases = [
            [body({ title: '' }), 'title'],
            [body({ title: 't'.repeat(201) }), 'title'],
            [body({ title: undefined }), 'title'],
            [body({ skus: [] }), 'skus'],
            [body({ skus: undefined }), 'skus'],
            [body({ skus: hundredOne }), 'skus'],
            [body({ skus: [sku({ code: 'X' }), sku({ code: 'X' })] }), 'skus'],
            [body({ skus: [sku({ price: -1 })] }), 'skus'],
            [body({ skus: [sku({ price: 1.5 })] }), 'skus'],
            [body({ skus: [sku({ price: '1000' })] }), 'skus'],
            [body({ skus: [sku({ price: 1e12 + 1 })] }), 'skus'],
            [body({ skus: [sku({ currency: 'XXX' })] }), 'skus'],
            [body({ skus: [sku({ currency: 'usd' })] }), 'skus'],
            [body({ skus: [sku({ stock: -1 })] }), 'skus'],
            [body({ skus: [sku({ stock: undefined })] }), 'skus'],
            [body({ skus: [sku({ code: undefined })] }), 'skus'],
            [body({ skus: [sku({ price_tiers: [{ min_qty: 1, price: 900 }] })] }), 'skus'],
            [body({ skus: [sku({ price_tiers: [{ min_qty: 10, price: 900 }, { min_qty: 5, price: 800 }] })] }), 'skus'],
            [body({ skus: [sku({ price_tiers: [{ min_qty: 10, price: 900 }, { min_qty: 10, price: 800 }] })] }), 'skus'],
            [body({ skus: [sku({ moq: 0 })] }), 'skus'],
            [body({ title: '商'.repeat(201) }), 'title'],
        ];
        for (const [b, field] of cases) {
            wantInvalid(await api(srv, 'POST', '/products', { token: owner.token, body: b }), field);
        }
        // limits are inclusive
        want(await api(srv, 'POST', '/products', { token: owner.token, body: body({ title: 't'.repeat(200) }) }), 201);
        // characters, not bytes
        want(await api(srv, 'POST', '/products', { token: owner.token, body: body({ title: '商'.repeat(200) }) }), 201);
        want(await api(srv, 'POST', '/products', {
            token: owner.token, body: body({ skus: Array.from({ length: 100 }, (_, i) => sku({ code: `C${i}` })) }),
        }), 201);
        want(await api(srv, 'POST', '/products', { token: owner.token, body: body({ skus: [sku({ price: 0, stock: 0 })] }) }), 201);
        want(await api(srv, 'POST', '/products', { token: owner.token, body: body({ skus: [sku({ price: 1e12, currency: 'JPY' })] }) }), 201);
    });

    test('ids in the body that do not exist → 422 invalid naming the field', async () => {
        wantInvalid(await api(srv, 'POST', '/products', { token: owner.token, body: body({ category_id: '999999999999' }) }),
            'category_id');
        wantInvalid(await api(srv, 'POST', '/products', { token: owner.token, body: body({ merchant_id: '999999999999' }) }),
            'merchant_id');
    });

    test('GET /products/{id} unknown → 404', async () => {
        want(await api(srv, 'GET', '/products/999999999999'), 404, 'not_found');
        want(await api(srv, 'GET', '/skus/999999999999'), 404, 'not_found');
    });

    test('GET /products?category_id= includes sub-categories; ?merchant_id= filters; newest first', async () => {
        const root = await createCategory(srv, uniq('Home'));
        const sub = await createCategory(srv, uniq('Kitchen'), root.id);
        const other = await createCategory(srv, uniq('Garden'));
        const m2 = await createActiveMerchant(srv, owner.token);
        const pRoot = await createProduct(srv, owner.token, { merchant_id: merchant.id, category_id: root.id, skus: [sku()] });
        const pSub = await createProduct(srv, owner.token, { merchant_id: m2.id, category_id: sub.id, skus: [sku()] });
        const pOther = await createProduct(srv, owner.token, { merchant_id: m2.id, category_id: other.id, skus: [sku()] });

        const inRoot = await listAll(srv, `/products?category_id=${root.id}`);
        assert.deepEqual(inRoot.map((p) => p.id), [pSub.id, pRoot.id], 'sub-category products included, newest first');
        const inSub = await listAll(srv, `/products?category_id=${sub.id}`);
        assert.deepEqual(inSub.map((p) => p.id), [pSub.id]);
        const ofM2 = await listAll(srv, `/products?merchant_id=${m2.id}`);
        assert.deepEqual(ofM2.map((p) => p.id), [pOther.id, pSub.id]);
        const both = await listAll(srv, `/products?merchant_id=${m2.id}&category_id=${root.id}`);
        assert.deepEqual(both.map((p) => p.id), [pSub.id]);
        assert.ok(Array.isArray(inRoot[0].skus), 'list items are full products with skus');
    });

    test('PATCH title, description, status; bad values → 422', async () => {
        const p = await createProduct(srv, owner.token, { merchant_id: merchant.id, category_id: cat.id, skus: [sku()] });
        const r = want(await api(srv, 'PATCH', `/products/${p.id}`, {
            token: owner.token, body: { title: 'New title', description: 'New desc' },
        }), 200);
        assert.equal(r.title, 'New title');
        assert.equal(r.description, 'New desc');
        assert.equal(r.status, 'active');
        assert.equal(want(await api(srv, 'GET', `/products/${p.id}`), 200).title, 'New title');
        wantInvalid(await api(srv, 'PATCH', `/products/${p.id}`, { token: owner.token, body: { status: 'deleted' } }), 'status');
        wantInvalid(await api(srv, 'PATCH', `/products/${p.id}`, { token: owner.token, body: { title: '' } }), 'title');
        wantInvalid(await api(srv, 'PATCH', `/products/${p.id}`, { token: owner.token, body: { title: 5 } }), 'title');
        want(await api(srv, 'PATCH', '/products/999999999999', { token: owner.token, body: { title: 'x' } }), 404, 'not_found');
    });

    test('archived products are listed only to their merchant staff', async () => {
        const m = await createActiveMerchant(srv, owner.token);
        const staff = await registerShopper(srv, 'staff');
        await addStaff(srv, m.id, owner.token, staff.email);
        const shopper = await registerShopper(srv);
        const p = await createProduct(srv, owner.token, { merchant_id: m.id, category_id: cat.id, skus: [sku()] });
        const a = want(await api(srv, 'PATCH', `/products/${p.id}`, { token: staff.token, body: { status: 'archived' } }), 200);
        assert.equal(a.status, 'archived');
        const ids = async (token) => (await listAll(srv, `/products?merchant_id=${m.id}`, token)).map((x) => x.id);
        assert.deepEqual(await ids(undefined), []);
        assert.deepEqual(await ids(shopper.token), []);
        assert.deepEqual(await ids(staff.token), [p.id]);
        assert.deepEqual(await ids(owner.token), [p.id]);
        want(await api(srv, 'PATCH', `/products/${p.id}`, { token: staff.token, body: { status: 'active' } }), 200);
        assert.deepEqual(await ids(shopper.token), [p.id]);
    });
});

describe('SKU stock', () => {
    test('PUT /skus/{id}/stock sets on_hand; below reserved → 409 stock_reserved', async () => {
        const shop = await makeShop(srv, { skus: [{ price: 100, stock: 10 }] });
        const id = shop.skus[0].id;
        let s = want(await api(srv, 'PUT', `/skus/${id}/stock`, { token: shop.owner.token, body: { on_hand: 7 } }), 200);
        assert.equal(s.id, id);
        assert.equal(s.on_hand, 7);
        assert.equal(s.available, 7);

        const buyer = await registerShopper(srv, 'buyer');
        await buy(srv, buyer.token, id, 3);
        s = await getSku(srv, id);
        assert.deepEqual([s.on_hand, s.reserved, s.available], [7, 3, 4]);

        want(await api(srv, 'PUT', `/skus/${id}/stock`, { token: shop.owner.token, body: { on_hand: 2 } }), 409, 'stock_reserved');
        s = await getSku(srv, id);
        assert.deepEqual([s.on_hand, s.reserved, s.available], [7, 3, 4], 'rejected update changed nothing');
        s = want(await api(srv, 'PUT', `/skus/${id}/stock`, { token: shop.owner.token, body: { on_hand: 3 } }), 200);
        assert.deepEqual([s.on_hand, s.reserved, s.available], [3, 3, 0]);

        for (const bad of [-1, 1.5, '3', null]) {
            wantInvalid(await api(srv, 'PUT', `/skus/${id}/stock`, { token: shop.owner.token, body: { on_hand: bad } }), 'on_hand');
        }
        want(await api(srv, 'PUT', '/skus/999999999999/stock', { token: shop.owner.token, body: { on_hand: 1 } }), 404, 'not_found');
    });
});

describe('price tiers and MOQ', () => {
    test('unit price is the highest tier with min_qty ≤ qty', async () => {
        const shop = await makeShop(srv, {
            skus: [{ price: 1000, stock: 1000, price_tiers: [{ min_qty: 10, price: 900 }, { min_qty: 50, price: 800 }] }],
        });
        const id = shop.skus[0].id;
        const buyer = await registerShopper(srv, 'buyer');
        const cases = [[1, 1000], [9, 1000], [10, 900], [49, 900], [50, 800], [500, 800]];
        await addToCart(srv, buyer.token, id, 1);
        for (const [qty, price] of cases) {
            const cart = want(await api(srv, 'PATCH', `/cart/items/${id}`, { token: buyer.token, body: { qty } }), 200);
            const line = cart.items.find((l) => l.sku_id === id);
            assert.equal(line.qty, qty);
            assert.equal(line.unit_price, price, `qty ${qty}`);
            assert.equal(line.line_total, qty * price);
        }
        // the order line uses the tier too
        want(await api(srv, 'PATCH', `/cart/items/${id}`, { token: buyer.token, body: { qty: 12 } }), 200);
        const co = want(await api(srv, 'POST', '/checkout', {
            token: buyer.token, idem: uniq('k'), body: { shipping_address: { name: 'A', phone: '1', line1: 'x', city: 'y', country: 'CN' } },
        }), 201);
        assert.equal(co.orders[0].lines[0].unit_price, 900);
        assert.equal(co.orders[0].subtotal, 12 * 900);
        assert.equal(co.total, 12 * 900);
    });

    test('qty under moq → 422 below_moq (add and patch); moq itself is fine', async () => {
        const shop = await makeShop(srv, { skus: [{ price: 100, stock: 100, moq: 5 }] });
        const id = shop.skus[0].id;
        const buyer = await registerShopper(srv, 'buyer');
        want(await api(srv, 'POST', '/cart/items', { token: buyer.token, body: { sku_id: id, qty: 4 } }), 422, 'below_moq');
        let cart = want(await api(srv, 'GET', '/cart', { token: buyer.token }), 200);
        assert.deepEqual(cart.items, []);
        cart = want(await api(srv, 'POST', '/cart/items', { token: buyer.token, body: { sku_id: id, qty: 5 } }), 200);
        assert.equal(cart.items[0].qty, 5);
        want(await api(srv, 'PATCH', `/cart/items/${id}`, { token: buyer.token, body: { qty: 3 } }), 422, 'below_moq');
        cart = want(await api(srv, 'GET', '/cart', { token: buyer.token }), 200);
        assert.equal(cart.items[0].qty, 5, 'rejected patch changed nothing');
        // adding 1 to a line of 5 is fine: the line total (6) is what must reach moq
        cart = want(await api(srv, 'POST', '/cart/items', { token: buyer.token, body: { sku_id: id, qty: 1 } }), 200);
        assert.equal(cart.items[0].qty, 6);
    });
});

describe('visibility of non-active merchants', () => {
    test('pending merchant: product hidden (404) from anonymous, shoppers and other merchants; visible to staff and operators', async () => {
        const owner = await registerShopper(srv, 'owner');
        const staff = await registerShopper(srv, 'staff');
        const shopper = await registerShopper(srv);
        const otherOwner = await registerShopper(srv, 'other');
        await createActiveMerchant(srv, otherOwner.token);
        const m = await createMerchant(srv, owner.token);
        await addStaff(srv, m.id, owner.token, staff.email);
        const cat = await createCategory(srv);
        const p = await createProduct(srv, staff.token, { merchant_id: m.id, category_id: cat.id, skus: [{ price: 10, stock: 10 }] });
        const skuId = p.skus[0].id;

        for (const [who, token] of [['anonymous', undefined], ['shopper', shopper.token], ['other merchant', otherOwner.token]]) {
            want(await api(srv, 'GET', `/products/${p.id}`, { token }), 404, 'not_found');
            want(await api(srv, 'GET', `/skus/${skuId}`, { token }), 404, 'not_found');
            const listed = await listAll(srv, `/products?merchant_id=${m.id}`, token);
            assert.deepEqual(listed, [], `${who} must not see the product in lists`);
            const byCat = await listAll(srv, `/products?category_id=${cat.id}`, token);
            assert.deepEqual(byCat, [], `${who} must not see the product by category`);
        }
        for (const token of [owner.token, staff.token, srv.operatorToken]) {
            want(await api(srv, 'GET', `/products/${p.id}`, { token }), 200);
            const listed = await listAll(srv, `/products?merchant_id=${m.id}`, token);
            assert.deepEqual(listed.map((x) => x.id), [p.id]);
        }
        // cannot be added to a cart (API.md is silent on the code: merchant_inactive or an invalid sku_id)
        const r = await api(srv, 'POST', '/cart/items', { token: shopper.token, body: { sku_id: skuId, qty: 1 } });
        assert.ok((r.status === 409 && r.json.code === 'merchant_inactive') || (r.status === 422 && r.json.code === 'invalid'),
            `adding a pending merchant's SKU: ${r.status} ${r.text}`);

        // approve → visible; suspend → hidden again
        await api(srv, 'POST', `/merchants/${m.id}/approve`, { token: srv.operatorToken });
        want(await api(srv, 'GET', `/products/${p.id}`, { token: shopper.token }), 200);
        want(await api(srv, 'GET', `/products/${p.id}`), 200);
        assert.deepEqual((await listAll(srv, `/products?merchant_id=${m.id}`, shopper.token)).map((x) => x.id), [p.id]);
        want(await api(srv, 'POST', '/cart/items', { token: shopper.token, body: { sku_id: skuId, qty: 1 } }), 200);

        want(await api(srv, 'POST', `/merchants/${m.id}/suspend`, { token: srv.operatorToken }), 200);
        want(await api(srv, 'GET', `/products/${p.id}`, { token: shopper.token }), 404, 'not_found');
        assert.deepEqual(await listAll(srv, `/products?merchant_id=${m.id}`, shopper.token), []);
        want(await api(srv, 'GET', `/products/${p.id}`, { token: staff.token }), 200);
        // the line added while active cannot be bought now
        want(await api(srv, 'POST', '/checkout', {
            token: shopper.token, idem: uniq('k'),
            body: { shipping_address: { name: 'A', phone: '1', line1: 'x', city: 'y', country: 'CN' } },
        }), 409, 'merchant_inactive');
    });
});
