// Discovery: GET /search (tokenization, ranking, facets, filters, sorts, paging,
// freshness, visibility, validation), POST /events, GET /trending, GET /feed,
// GET /products/{id}/similar and GET /admin/exposure — black box, on a small fixed
// catalog this file creates on its own server.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, sleep, registerShopper, createMerchant, approveMerchant,
    createActiveMerchant, createCategory, createProduct, addToCart, clearCart, checkout, payCheckout,
} from './lib/harness.mjs';

let srv;
const fx = {}; // the fixed catalog
const sim = {}; // the co-purchase history behind the "similar" test
let t0;

// Every fixed product carries this word in its description, so `q=qqfix` is
// exactly the fixed catalog whatever other tests add later.
const MARK = 'qqfix';

async function product(owner, merchant, category, title, price, extra = {}) {
    return createProduct(srv, owner.token, {
        merchant_id: merchant.id,
        category_id: category.id,
        title,
        description: `${extra.description ?? ''} ${MARK}`.trim(),
        skus: [{ price, stock: 100 }],
        ...(extra.attributes ? { attributes: extra.attributes } : {}),
    });
}

before(async () => {
    t0 = Date.now();
    srv = await startServer();
    const owner = await registerShopper(srv, 'disco-owner');
    fx.owner = owner;
    fx.brand = await createActiveMerchant(srv, owner.token, { name: uniq('Brand'), kind: 'brand' });
    fx.factory = await createActiveMerchant(srv, owner.token, { name: uniq('Factory'), kind: 'factory' });
    fx.rural = await createActiveMerchant(srv, owner.token, { name: uniq('Rural'), kind: 'rural' });
    fx.pending = await createMerchant(srv, owner.token, { name: uniq('Pending'), kind: 'sme' });
    fx.bags = await createCategory(srv, uniq('Bags'));
    fx.backpacks = await createCategory(srv, uniq('Backpacks'), fx.bags.id);
    fx.home = await createCategory(srv, uniq('Home'));

    // price buckets (minor units): <1000 | 1000-5000 | 5000-10000 | 10000-50000 | 50000-100000 | ...
    fx.olympic = await product(owner, fx.brand, fx.backpacks, '北京奥运会双肩包 2008 经典款', 25000);
    fx.lantern = await product(owner, fx.factory, fx.home, 'Red paper lantern', 800);
    fx.kite = await product(owner, fx.rural, fx.home, 'Bamboo kite', 3000);
    fx.tote = await product(owner, fx.factory, fx.bags, 'Canvas tote bag', 12000, {
        description: 'Carry it to the festival; it goes well with a lantern.',
    });
    fx.hiking = await product(owner, fx.brand, fx.backpacks, 'Hiking backpack 30L 登山包', 60000);
    fx.hidden = await product(owner, fx.pending, fx.home, 'Zorblax lantern from a pending shop', 500);
    fx.fixed = [fx.olympic, fx.lantern, fx.kite, fx.tote, fx.hiking]; // creation order

    // Co-purchases for /similar: two shoppers buy A with B, a third buys A.
    // Done first so the recommender's next 30 s retraining already has them.
    const simOwner = await registerShopper(srv, 'sim-owner');
    sim.merchant = await createActiveMerchant(srv, simOwner.token, { kind: 'sme' });
    sim.cat = await createCategory(srv, uniq('Tea'));
    const mk = (title) => createProduct(srv, simOwner.token, {
        merchant_id: sim.merchant.id, category_id: sim.cat.id, title, skus: [{ price: 1500, stock: 100 }],
    });
    sim.A = await mk('Jade tea cup');
    sim.B = await mk('Jade saucer');
    for (let i = 0; i < 2; i++) {
        const s = await registerShopper(srv, 'pair-buyer');
        await addToCart(srv, s.token, sim.A.skus[0].id, 1);
        await addToCart(srv, s.token, sim.B.skus[0].id, 1);
        const co = await checkout(srv, s.token);
        await payCheckout(srv, s.token, co.id);
    }
    sim.buyer = await registerShopper(srv, 'a-buyer');
    await clearCart(srv, sim.buyer.token);
    await addToCart(srv, sim.buyer.token, sim.A.skus[0].id, 1);
    const co = await checkout(srv, sim.buyer.token);
    await payCheckout(srv, sim.buyer.token, co.id);
});

after(async () => {
    await srv?.stop();
});

function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.append(k, String(v));
    const s = u.toString();
    return s ? `?${s}` : '';
}

async function search(params, opts = {}) {
    return want(await api(srv, 'GET', `/search${qs(params)}`, opts), 200);
}

const ids = (page) => page.items.map((i) => i.product_id);
const fixedIds = () => fx.fixed.map((p) => p.id);
const sameSet = (a, b, msg) => assert.deepEqual([...a].sort(), [...b].sort(), msg);

describe('GET /search: tokenization', () => {
    test('Chinese: 双肩包, 奥运会, 北京 and a mixed "2008 双肩包" find 北京奥运会双肩包 2008 经典款', async () => {
        for (const q of ['双肩包', '奥运会', '北京', '经典款', '2008 双肩包', '奥运会 2008']) {
            const r = await search({ q });
            assert.ok(ids(r).includes(fx.olympic.id), `q=${q} → ${JSON.stringify(r.items.map((i) => i.title))}`);
            assert.ok(r.total >= 1);
        }
        const r = await search({ q: '双肩包' });
        const hit = r.items.find((i) => i.product_id === fx.olympic.id);
        assert.equal(hit.title, fx.olympic.title);
        assert.equal(hit.price, 25000);
        assert.equal(hit.currency, 'USD');
        assert.equal(hit.merchant_id, fx.brand.id);
        assert.equal(hit.merchant_kind, 'brand');
        assert.equal(hit.merchant_name, fx.brand.name);
        assert.equal(hit.category_id, fx.backpacks.id);
        assert.equal(typeof hit.score, 'number');
        assert.match(hit.highlight, /<em>/, 'the match is highlighted');
        // a CJK word the catalog does not hold finds nothing
        assert.deepEqual(ids(await search({ q: '电冰箱' })), []);
    });

    test('mixed-script title: "backpack 登山" and 登山包 find "Hiking backpack 30L 登山包"', async () => {
        for (const q of ['backpack 登山', '登山包', 'hiking 登山包']) {
            assert.ok(ids(await search({ q })).includes(fx.hiking.id), `q=${q}`);
        }
    });

    test('English: stems, case folding and NFKC ("lanterns", "LANTERN", full-width ｌａｎｔｅｒｎ)', async () => {
        for (const q of ['lantern', 'lanterns', 'Lanterns', 'LANTERN', 'ｌａｎｔｅｒｎ']) {
            assert.ok(ids(await search({ q })).includes(fx.lantern.id), `q=${q}`);
        }
        assert.deepEqual(ids(await search({ q: 'lantern kite' })), [], 'every term must match (AND)');
    });

    test('prefix: "lant" and "bambo" find the product (search as you type)', async () => {
        assert.ok(ids(await search({ q: 'lant' })).includes(fx.lantern.id));
        assert.ok(ids(await search({ q: 'red pap' })).includes(fx.lantern.id));
        assert.ok(ids(await search({ q: 'bambo' })).includes(fx.kite.id));
    });

    test('typos: 1 edit of a 5+ letter word matches ("lanturn", "bambooo"); a 4-letter word with a typo does not ("kitw")', async () => {
        assert.ok(ids(await search({ q: 'lanturn' })).includes(fx.lantern.id), 'lanturn → lantern');
        assert.ok(ids(await search({ q: 'lnatern' })).includes(fx.lantern.id), 'swap of two neighbours');
        assert.ok(ids(await search({ q: 'bambooo' })).includes(fx.kite.id), 'bambooo → bamboo');
        assert.ok(ids(await search({ q: 'kite' })).includes(fx.kite.id), 'control: kite itself');
        assert.deepEqual(ids(await search({ q: 'kitw' })), [], 'kitw is not kite (4 letters: no typo tolerance)');
        assert.deepEqual(ids(await search({ q: 'kitw ' })), []);
    });

    test('emoji-only and punctuation-only queries → 200 with no items', async () => {
        for (const q of ['🏮', '🎒🏮😀', '!!! ???']) {
            const r = await search({ q });
            assert.deepEqual(r.items, [], `q=${q}`);
            assert.equal(r.total, 0, `q=${q}`);
            assert.equal(r.next_cursor, null);
        }
        // an emoji next to a word does not stop the word from matching
        assert.ok(ids(await search({ q: 'lantern 🏮' })).includes(fx.lantern.id));
    });

    test('empty q lists by the sort order (no q: newest first; q= with sort=price_asc)', async () => {
        const newest = await search({ limit: 100 });
        const seen = ids(newest).filter((id) => fixedIds().includes(id));
        assert.deepEqual(seen, fixedIds().reverse(), 'without q the fixed catalog is listed newest first');
        const asc = await search({ q: '', sort: 'price_asc', limit: 100 });
        const prices = asc.items.map((i) => i.price);
        assert.deepEqual(prices, [...prices].sort((a, b) => a - b));
        for (const id of fixedIds()) assert.ok(ids(asc).includes(id));
        assert.ok(asc.total >= 5);
        const spaces = await search({ q: '   ', limit: 100 });
        assert.deepEqual(ids(spaces), ids(newest), 'an all-space q is an empty q');
    });

    test('a 10 KB q answers 200 in under a second (ASCII and multi-byte)', async () => {
        const ascii = 'lantern '.repeat(1280); // 10240 bytes
        let t = Date.now();
        const r1 = await search({ q: ascii });
        const ms1 = Date.now() - t;
        assert.ok(ms1 < 1000, `10 KB ASCII q took ${ms1} ms`);
        assert.ok(ids(r1).includes(fx.lantern.id), 'the first 1024 bytes are read: lantern lantern … finds the lantern');

        const cjk = '北京奥运会双肩包 '.repeat(410); // 25 bytes each → 10250 bytes, cut inside a character at 1024
        assert.ok(Buffer.byteLength(cjk) >= 10240);
        t = Date.now();
        const r2 = await search({ q: cjk });
        const ms2 = Date.now() - t;
        assert.ok(ms2 < 1000, `10 KB CJK q took ${ms2} ms`);
        assert.ok(Array.isArray(r2.items));

        const emoji = '🏮'.repeat(2600); // 4 bytes each
        t = Date.now();
        const r3 = await search({ q: emoji });
        assert.ok(Date.now() - t < 1000);
        assert.deepEqual(r3.items, []);
    });
});

describe('GET /search: ranking, facets, filters, sorts, paging', () => {
    test('a title match ranks above a description-only match', async () => {
        const r = await search({ q: 'lantern' });
        const got = ids(r);
        assert.ok(got.includes(fx.lantern.id) && got.includes(fx.tote.id), JSON.stringify(r.items.map((i) => i.title)));
        assert.ok(got.indexOf(fx.lantern.id) < got.indexOf(fx.tote.id), 'title "Red paper lantern" first');
        const s = Object.fromEntries(r.items.map((i) => [i.product_id, i.score]));
        assert.ok(s[fx.lantern.id] > s[fx.tote.id], `scores ${JSON.stringify(s)}`);
        assert.ok(!got.includes(fx.hidden.id));
        assert.equal(r.total, 2);
    });

    test('facets: category counts, a parent category counting its sub-categories\' products', async () => {
        const r = await search({ q: MARK, limit: 100 });
        sameSet(ids(r), fixedIds());
        assert.equal(r.total, 5);
        const cat = Object.fromEntries(r.facets.category.map((c) => [c.id, c]));
        assert.equal(cat[fx.backpacks.id]?.count, 2, 'Backpacks: the two backpacks');
        assert.equal(cat[fx.bags.id]?.count, 3, 'Bags: the tote and both backpacks of its sub-category');
        assert.equal(cat[fx.home.id]?.count, 2, 'Home: lantern and kite');
        assert.equal(cat[fx.bags.id].name, fx.bags.name);
        assert.equal(r.facets.category.length, 3, JSON.stringify(r.facets.category));
        const counts = r.facets.category.map((c) => c.count);
        assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'largest first');
    });

    test('facets: merchant_kind counts and price buckets over every match (not only the page)', async () => {
        const r = await search({ q: MARK, limit: 100 });
        const kinds = Object.fromEntries(r.facets.merchant_kind.map((k) => [k.kind, k.count]));
        assert.deepEqual(kinds, { brand: 2, factory: 2, rural: 1 });

        const buckets = r.facets.price;
        assert.ok(Array.isArray(buckets) && buckets.length >= 2);
        assert.equal(buckets.reduce((s, b) => s + b.count, 0), 5, 'every hit is in one bucket');
        const inBucket = (price) => buckets.find((b) => (b.min == null || b.min <= price) && (b.max == null || price < b.max));
        const expect = new Map();
        for (const p of [800, 3000, 12000, 25000, 60000]) {
            const b = inBucket(p);
            assert.ok(b, `a bucket holds ${p}`);
            expect.set(b, (expect.get(b) ?? 0) + 1);
        }
        for (const b of buckets) assert.equal(b.count, expect.get(b) ?? 0, `bucket ${JSON.stringify(b)}`);
        assert.notEqual(inBucket(25000), inBucket(60000));
        assert.equal(inBucket(12000), inBucket(25000));

        const page = await search({ q: MARK, limit: 1 });
        assert.equal(page.items.length, 1);
        assert.equal(page.total, 5);
        assert.deepEqual(page.facets.merchant_kind, r.facets.merchant_kind);
        assert.deepEqual(page.facets.price, r.facets.price);
    });

    test('filter category_id: the category and its sub-categories, each product once', async () => {
        sameSet(ids(await search({ q: MARK, category_id: fx.bags.id })), [fx.olympic.id, fx.tote.id, fx.hiking.id]);
        sameSet(ids(await search({ q: MARK, category_id: fx.backpacks.id })), [fx.olympic.id, fx.hiking.id]);
        sameSet(ids(await search({ q: MARK, category_id: fx.home.id })), [fx.lantern.id, fx.kite.id]);
        sameSet(ids(await search({ q: '双肩包', category_id: fx.bags.id })), [fx.olympic.id]);
        assert.deepEqual(ids(await search({ q: '双肩包', category_id: fx.home.id })), []);
        // without q, a category filter browses
        const b = await search({ category_id: fx.backpacks.id, limit: 100 });
        sameSet(ids(b), [fx.olympic.id, fx.hiking.id]);
        assert.equal(b.total, 2);
        const bags = await search({ category_id: fx.bags.id, sort: 'price_asc', limit: 100 });
        assert.deepEqual(ids(bags), [fx.tote.id, fx.olympic.id, fx.hiking.id]);
        assert.equal(bags.total, 3);
    });

    test('filters merchant_kind (one, a comma list) and price_min/price_max (inclusive), combined', async () => {
        sameSet(ids(await search({ q: MARK, merchant_kind: 'brand' })), [fx.olympic.id, fx.hiking.id]);
        sameSet(ids(await search({ q: MARK, merchant_kind: 'factory,rural' })), [fx.lantern.id, fx.kite.id, fx.tote.id]);
        assert.deepEqual(ids(await search({ q: MARK, merchant_kind: 'exporter' })), []);

        sameSet(ids(await search({ q: MARK, price_min: 3000, price_max: 25000 })), [fx.kite.id, fx.tote.id, fx.olympic.id],
            'bounds are inclusive');
        sameSet(ids(await search({ q: MARK, price_min: 25001 })), [fx.hiking.id]);
        sameSet(ids(await search({ q: MARK, price_max: 799 })), []);
        sameSet(ids(await search({ q: MARK, price_min: 0, price_max: 800 })), [fx.lantern.id]);
        sameSet(ids(await search({ q: MARK, currency: 'USD' })), fixedIds());
        assert.deepEqual(ids(await search({ q: MARK, currency: 'CNY' })), []);

        // filters combine, and a filter narrows the facets too
        const r = await search({ q: MARK, merchant_kind: 'brand', price_max: 30000 });
        assert.deepEqual(ids(r), [fx.olympic.id]);
        assert.equal(r.total, 1);
        assert.deepEqual(r.facets.merchant_kind, [{ kind: 'brand', count: 1 }]);
    });

    test('sort: price_asc, price_desc, newest', async () => {
        const byPrice = [fx.lantern, fx.kite, fx.tote, fx.olympic, fx.hiking].map((p) => p.id);
        assert.deepEqual(ids(await search({ q: MARK, sort: 'price_asc' })), byPrice);
        assert.deepEqual(ids(await search({ q: MARK, sort: 'price_desc' })), [...byPrice].reverse());
        assert.deepEqual(ids(await search({ q: MARK, sort: 'newest' })), fixedIds().reverse());
        const rel = await search({ q: MARK, sort: 'relevance' });
        sameSet(ids(rel), fixedIds());
    });

    test('cursor paging walks every hit once (relevance, price_asc, browsing)', async () => {
        for (const params of [{ q: MARK }, { q: MARK, sort: 'price_asc' }, { q: MARK, sort: 'newest' }, { sort: 'price_desc' }, {}]) {
            const all = await search({ ...params, limit: 100 });
            const seen = [];
            let cursor;
            let pages = 0;
            for (;;) {
                const page = await search({ ...params, limit: 2, cursor });
                assert.ok(page.items.length <= 2);
                assert.equal(page.total, all.total, `total stays ${all.total} on every page`);
                seen.push(...ids(page));
                pages++;
                if (page.next_cursor == null) break;
                assert.equal(typeof page.next_cursor, 'string');
                cursor = page.next_cursor;
                assert.ok(pages < 100, 'paging ends');
            }
            assert.equal(new Set(seen).size, seen.length, `no duplicates for ${JSON.stringify(params)}: ${seen}`);
            sameSet(seen, ids(all), `paging sees what one page of 100 sees for ${JSON.stringify(params)}`);
            if (params.sort && params.sort !== 'relevance') assert.deepEqual(seen, ids(all), 'same order');
        }
    });
});

describe('GET /search: freshness and visibility', () => {
    async function until(params, pred, ms = 1000) {
        const deadline = Date.now() + ms;
        for (;;) {
            const r = await search(params);
            if (pred(r)) return Date.now();
            if (Date.now() > deadline) return null;
            await sleep(25);
        }
    }

    test('a new product, a PATCHed title and an archived product show in search within ~1 s', async () => {
        const p = await createProduct(srv, fx.owner.token, {
            merchant_id: fx.rural.id, category_id: fx.home.id, title: 'Ceramic teapot', skus: [{ price: 4200, stock: 5 }],
        });
        assert.ok(await until({ q: 'teapot' }, (r) => ids(r).includes(p.id)), 'a new product is searchable within 1 s');

        let t = Date.now();
        want(await api(srv, 'PATCH', `/products/${p.id}`, { token: fx.owner.token, body: { title: 'Celadon vase glazurix' } }), 200);
        const seenAt = await until({ q: 'glazurix' }, (r) => ids(r).includes(p.id));
        assert.ok(seenAt, 'the new title is searchable within 1 s');
        const r = await search({ q: 'glazurix' });
        assert.equal(r.items.find((i) => i.product_id === p.id).title, 'Celadon vase glazurix');
        assert.ok(await until({ q: 'teapot' }, (x) => !ids(x).includes(p.id)), 'the old title no longer matches');

        t = Date.now();
        want(await api(srv, 'PATCH', `/products/${p.id}`, { token: fx.owner.token, body: { status: 'archived' } }), 200);
        assert.ok(await until({ q: 'glazurix' }, (x) => x.total === 0 && x.items.length === 0),
            `an archived product disappears within 1 s (waited ${Date.now() - t} ms)`);
        assert.ok(!ids(await search({ limit: 100 })).includes(p.id), 'nor is it browsed');
    });

    test('products of a pending merchant never appear (query, browse, filters, facets)', async () => {
        const r = await search({ q: 'zorblax' });
        assert.deepEqual(r.items, []);
        assert.equal(r.total, 0);
        assert.ok(!ids(await search({ q: 'lantern', limit: 100 })).includes(fx.hidden.id));
        assert.ok(!ids(await search({ q: MARK, limit: 100 })).includes(fx.hidden.id));
        assert.ok(!ids(await search({ limit: 100 })).includes(fx.hidden.id));
        assert.ok(!ids(await search({ q: '', sort: 'price_asc', limit: 100 })).includes(fx.hidden.id));
        assert.deepEqual(ids(await search({ merchant_kind: 'sme', category_id: fx.home.id, limit: 100 })), []);
        // the owner and operators do not see it in search either (search is what shoppers can buy)
        assert.deepEqual(ids(await search({ q: 'zorblax' }, { token: fx.owner.token })), []);
        assert.deepEqual(ids(await search({ q: 'zorblax' }, { token: srv.operatorToken })), []);
    });

    test('approving a merchant makes its products searchable; suspending hides them again', async () => {
        const owner = await registerShopper(srv, 'late-owner');
        const m = await createMerchant(srv, owner.token, { kind: 'individual' });
        const cat = await createCategory(srv, uniq('Misc'));
        const p = await createProduct(srv, owner.token, {
            merchant_id: m.id, category_id: cat.id, title: 'Quokkafern planter', skus: [{ price: 100, stock: 1 }],
        });
        await sleep(300);
        assert.deepEqual(ids(await search({ q: 'quokkafern' })), [], 'pending: hidden');
        await approveMerchant(srv, m.id);
        assert.ok(await until({ q: 'quokkafern' }, (r) => ids(r).includes(p.id)), 'active: searchable within 1 s');
        want(await api(srv, 'POST', `/merchants/${m.id}/suspend`, { token: srv.operatorToken }), 200);
        assert.ok(await until({ q: 'quokkafern' }, (r) => r.total === 0), 'suspended: hidden within 1 s');
    });
});

describe('GET /search: bad parameters → 422 invalid naming the field', () => {
    const CASES = [
        [{ sort: 'bogus' }, 'sort'],
        [{ sort: '' }, 'sort'],
        [{ limit: 0 }, 'limit'],
        [{ limit: 101 }, 'limit'],
        [{ limit: 'abc' }, 'limit'],
        [{ limit: -1 }, 'limit'],
        [{ limit: '' }, 'limit'],
        [{ price_min: -1 }, 'price_min'],
        [{ price_max: -5 }, 'price_max'],
        [{ price_min: 'ten' }, 'price_min'],
        [{ price_min: '1.5' }, 'price_min'],
        [{ merchant_kind: 'unknown' }, 'merchant_kind'],
        [{ merchant_kind: 'brand,unknown' }, 'merchant_kind'],
        [{ category_id: 'abc' }, 'category_id'],
        [{ category_id: '-3' }, 'category_id'],
        [{ cursor: 'garbage' }, 'cursor'],
        [{ cursor: 'x'.repeat(200) }, 'cursor'],
    ];
    for (const [params, field] of CASES) {
        test(`${JSON.stringify(params)} → 422 ${field}`, async () => {
            wantInvalid(await api(srv, 'GET', `/search${qs({ q: 'lantern', ...params })}`), field);
        });
    }

    test('price_min > price_max → 422 naming price_min or price_max', async () => {
        const r = await api(srv, 'GET', `/search${qs({ q: MARK, price_min: 500, price_max: 100 })}`);
        want(r, 422, 'invalid');
        assert.ok(r.json.errors.some((e) => e.field === 'price_min' || e.field === 'price_max'), r.text);
    });

    test('a tampered cursor → 422 naming cursor or a page, never a 5xx', async () => {
        const first = await search({ q: MARK, limit: 2 });
        assert.ok(first.next_cursor);
        const c = first.next_cursor;
        const tampered = c.slice(0, -1) + (c.endsWith('A') ? 'B' : 'A');
        const r = await api(srv, 'GET', `/search${qs({ q: MARK, limit: 2, cursor: tampered })}`);
        // either a clean 422 naming cursor, or a 200 page: never a 5xx
        assert.ok(r.status === 200 || r.status === 422, `${r.status} ${r.text.slice(0, 200)}`);
        if (r.status === 422) wantInvalid(r, 'cursor');
    });
});

describe('POST /events and GET /trending', () => {
    const ev = (body, token) => api(srv, 'POST', '/events', { body, token });

    test('validation: unknown kind, view without product_id, search without query, anonymous without session → 422; bad JSON → 400', async () => {
        const session = uniq('sess');
        wantInvalid(await ev({ kind: 'teleport', product_id: fx.kite.id, session }), 'kind');
        wantInvalid(await ev({ product_id: fx.kite.id, session }), 'kind');
        wantInvalid(await ev({ kind: 'view', session }), 'product_id');
        wantInvalid(await ev({ kind: 'click', session }), 'product_id');
        wantInvalid(await ev({ kind: 'search', session }), 'query');
        wantInvalid(await ev({ kind: 'search', query: '', session }), 'query');
        wantInvalid(await ev({ kind: 'search', query: 'x'.repeat(201), session }), 'query');
        wantInvalid(await ev({ kind: 'view', product_id: fx.kite.id }), 'session');
        wantInvalid(await ev({ kind: 'view', product_id: fx.kite.id, session: 'short' }), 'session');
        wantInvalid(await ev({ kind: 'view', product_id: fx.kite.id, session: 's'.repeat(65) }), 'session');
        wantInvalid(await ev({ kind: 'view', product_id: '999999999999', session }), 'product_id');
        wantInvalid(await ev({ kind: 'view', product_id: fx.hidden.id, session }), 'product_id');
        wantInvalid(await ev({ kind: 'view', product_id: 'abc', session }), 'product_id');
        want(await api(srv, 'POST', '/events', { rawBody: '{"kind": "view",' }), 400, 'bad_json');
        want(await api(srv, 'POST', '/events', { rawBody: 'not json' }), 400, 'bad_json');
        wantInvalid(await api(srv, 'POST', '/events', { rawBody: '[]' }));
    });

    test('accepted: anonymous with a session, signed-in without one → 202 {accepted: true}', async () => {
        const session = uniq('sess');
        for (const kind of ['view', 'click', 'cart', 'purchase']) {
            const r = want(await ev({ kind, product_id: fx.lantern.id, session }), 202);
            assert.equal(r.accepted, true);
        }
        want(await ev({ kind: 'search', query: 'paper lantern', session }), 202);
        const shopper = await registerShopper(srv, 'eventer');
        want(await ev({ kind: 'view', product_id: fx.kite.id }, shopper.token), 202);
        want(await ev({ kind: 'search', query: 'kite' }, shopper.token), 202);
    });

    test('a burst of views of one product from many sessions makes it trend within a minute', async () => {
        const target = fx.kite.id;
        await Promise.all(Array.from({ length: 15 }, (_, i) =>
            ev({ kind: 'view', product_id: target, session: `burst-session-${i}-${uniq('s')}` }).then((r) => want(r, 202))));
        const deadline = Date.now() + 60000;
        let tr;
        for (;;) {
            tr = want(await api(srv, 'GET', '/trending'), 200);
            if (tr.products.some((p) => p.product_id === target) || Date.now() > deadline) break;
            await sleep(500);
        }
        const hit = tr.products.find((p) => p.product_id === target);
        assert.ok(hit, `the viewed product trends: ${JSON.stringify(tr.products.map((p) => p.product_id))}`);
        assert.ok(hit.last_hour >= 15, `last_hour ${hit.last_hour}`);
        assert.equal(hit.title, fx.kite.title);
        assert.equal(hit.merchant_kind, 'rural');
        assert.equal(hit.reason?.kind, 'trending');
        assert.equal(typeof hit.reason.text, 'string');
        assert.ok(Array.isArray(tr.queries));
    });

    test('a burst of searches makes the query trend (normalised: trimmed, spaces collapsed, lower-case)', async () => {
        await Promise.all(Array.from({ length: 12 }, (_, i) =>
            ev({ kind: 'search', query: '  Festival   Lanterns ', session: `qburst-${i}-${uniq('s')}` }).then((r) => want(r, 202))));
        const deadline = Date.now() + 60000;
        let tr;
        for (;;) {
            tr = want(await api(srv, 'GET', '/trending'), 200);
            if (tr.queries.some((q) => q.query === 'festival lanterns') || Date.now() > deadline) break;
            await sleep(500);
        }
        const q = tr.queries.find((x) => x.query === 'festival lanterns');
        assert.ok(q, `the query trends: ${JSON.stringify(tr.queries)}`);
        assert.ok(q.last_hour >= 12);
        assert.equal(typeof q.score, 'number');
        assert.equal(typeof q.usual_hour, 'number');
    });

    test('a handful of views does not trend', async () => {
        for (let i = 0; i < 3; i++) want(await ev({ kind: 'view', product_id: fx.tote.id, session: uniq('few-views') }), 202);
        const tr = want(await api(srv, 'GET', '/trending'), 200);
        assert.ok(!tr.products.some((p) => p.product_id === fx.tote.id));
    });

    test('limit bounds on /trending, /feed and /similar → 422 limit', async () => {
        for (const p of ['/trending', '/feed', `/products/${fx.lantern.id}/similar`]) {
            for (const l of ['0', '101', 'abc', '-1']) wantInvalid(await api(srv, 'GET', `${p}?limit=${l}`), 'limit');
            want(await api(srv, 'GET', `${p}?limit=1`), 200);
            want(await api(srv, 'GET', `${p}?limit=100`), 200);
        }
        const tr = want(await api(srv, 'GET', '/trending?limit=1'), 200);
        assert.ok(tr.products.length <= 1 && tr.queries.length <= 1);
    });
});

describe('GET /feed', () => {
    const REASONS = ['bought_with', 'viewed_with', 'because_you_bought', 'because_you_viewed', 'trending', 'new_merchant', 'popular'];
    function checkItems(feed) {
        assert.ok(Array.isArray(feed.items));
        for (const it of feed.items) {
            assert.equal(typeof it.product_id, 'string');
            assert.equal(typeof it.title, 'string');
            assert.equal(typeof it.price, 'number');
            assert.ok(REASONS.includes(it.reason?.kind), `reason ${JSON.stringify(it.reason)}`);
            assert.equal(typeof it.reason.text, 'string');
            assert.ok(it.reason.text.length > 0);
            assert.notEqual(it.product_id, fx.hidden.id, 'a pending merchant\'s product is never fed');
        }
        assert.equal(new Set(feed.items.map((i) => i.product_id)).size, feed.items.length, 'no duplicates');
    }
    // The cold-start fallback is refreshed every 10 s: poll until the feed has items.
    async function feedUntilItems(path, token) {
        const deadline = Date.now() + 15000;
        for (;;) {
            const f = want(await api(srv, 'GET', path, { token }), 200);
            if (f.items.length > 0 || Date.now() > deadline) return f;
            await sleep(500);
        }
    }

    test('an anonymous session gets items, each with a reason {kind, text}', async () => {
        const session = uniq('feed-session');
        want(await api(srv, 'POST', '/events', { body: { kind: 'view', product_id: fx.lantern.id, session } }), 202);
        const f = await feedUntilItems(`/feed?session=${encodeURIComponent(session)}&limit=10`);
        assert.ok(f.items.length > 0, 'a feed is never empty on a non-empty catalog');
        assert.ok(f.items.length <= 10);
        checkItems(f);
        // no session at all: the cold-start list
        checkItems(want(await api(srv, 'GET', '/feed'), 200));
    });

    test('a signed-in shopper gets items, each with a reason {kind, text}', async () => {
        const shopper = await registerShopper(srv, 'feeder');
        want(await api(srv, 'POST', '/events', { token: shopper.token, body: { kind: 'view', product_id: fx.kite.id } }), 202);
        const f = await feedUntilItems('/feed?limit=5', shopper.token);
        assert.ok(f.items.length > 0);
        assert.ok(f.items.length <= 5);
        checkItems(f);
    });
});

describe('GET /admin/exposure', () => {
    test('401 anonymous, 403 shopper, 200 operator with gini, small_merchant_share, by_list', async () => {
        want(await api(srv, 'GET', '/admin/exposure'), 401, 'unauthorized');
        const shopper = await registerShopper(srv, 'nosy');
        want(await api(srv, 'GET', '/admin/exposure', { token: shopper.token }), 403, 'forbidden');
        want(await api(srv, 'GET', '/admin/exposure', { token: fx.owner.token }), 403, 'forbidden');
        const r = want(await api(srv, 'GET', '/admin/exposure', { token: srv.operatorToken }), 200);
        assert.equal(typeof r.gini, 'number');
        assert.ok(r.gini >= 0 && r.gini <= 1, `gini ${r.gini}`);
        assert.equal(typeof r.small_merchant_share, 'number');
        assert.ok(r.small_merchant_share >= 0 && r.small_merchant_share <= 1);
        for (const l of ['search', 'feed', 'similar']) {
            assert.equal(typeof r.by_list[l]?.impressions, 'number', `by_list.${l}`);
            assert.equal(typeof r.by_list[l].exposure, 'number');
        }
        assert.equal(typeof r.from, 'string');
        assert.equal(typeof r.to, 'string');
        assert.ok(Array.isArray(r.merchants));
        assert.ok(r.by_kind && typeof r.by_kind === 'object');
        // every merchant here is new, so every impression went to a small-or-new merchant
        assert.ok(r.merchants.length > 0);
        for (const m of r.merchants) assert.equal(m.small_or_new, true, JSON.stringify(m));
    });

    test('search and feed impressions increase after searching and reading the feed', async () => {
        const get = async () => want(await api(srv, 'GET', '/admin/exposure', { token: srv.operatorToken }), 200);
        const before0 = await get();
        const s = await search({ q: MARK }); // 5 hits
        assert.equal(s.items.length, 5);
        const mid = await get();
        assert.equal(mid.by_list.search.impressions - before0.by_list.search.impressions, 5,
            'one impression per hit shown');
        assert.ok(mid.by_list.search.exposure > before0.by_list.search.exposure);
        const f = want(await api(srv, 'GET', '/feed?limit=5'), 200);
        assert.ok(f.items.length > 0);
        const after1 = await get();
        assert.equal(after1.by_list.feed.impressions - mid.by_list.feed.impressions, f.items.length);
        assert.ok(after1.by_list.feed.exposure > mid.by_list.feed.exposure);
        // the brand merchant's impressions show up by merchant and by kind
        const brand = after1.merchants.find((m) => m.merchant_id === fx.brand.id);
        assert.ok(brand && brand.impressions > 0 && brand.kind === 'brand', JSON.stringify(brand));
        assert.ok(after1.by_kind.brand.impressions >= brand.impressions);
    });

    test('a new merchant shown only in browse/price-sorted lists is reported small_or_new', async () => {
        const owner = await registerShopper(srv, 'browse-owner');
        const m = await createActiveMerchant(srv, owner.token, { kind: 'exporter' });
        const cat = await createCategory(srv, uniq('Browse'));
        const p = await createProduct(srv, owner.token, {
            merchant_id: m.id, category_id: cat.id, title: 'Browse-only item', skus: [{ price: 1, stock: 1 }],
        });
        // only non-relevance lists: browsing (the only exporter here), newest first and by price
        const deadline = Date.now() + 1000;
        while (!ids(await search({ merchant_kind: 'exporter', sort: 'newest' })).includes(p.id) && Date.now() < deadline) await sleep(25);
        assert.deepEqual(ids(await search({ merchant_kind: 'exporter', sort: 'price_asc' })), [p.id]);
        const r = want(await api(srv, 'GET', '/admin/exposure', { token: srv.operatorToken }), 200);
        const e = r.merchants.find((x) => x.merchant_id === m.id);
        assert.ok(e && e.impressions >= 2, JSON.stringify(e));
        assert.equal(e.kind, 'exporter');
        assert.ok(r.by_kind.exporter.impressions >= 2);
        assert.equal(e.small_or_new, true, `a merchant created minutes ago with one product is new and small: ${JSON.stringify(e)}`);
    });

    test('from/to: RFC 3339 times, to after from → else 422', async () => {
        const op = { token: srv.operatorToken };
        wantInvalid(await api(srv, 'GET', '/admin/exposure?from=yesterday', op), 'from');
        wantInvalid(await api(srv, 'GET', '/admin/exposure?to=2026-13-45T00:00:00Z', op), 'to');
        const now = new Date();
        const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
        wantInvalid(await api(srv, 'GET', `/admin/exposure?from=${iso(now.getTime())}&to=${iso(now.getTime() - 3600e3)}`, op), 'to');
        wantInvalid(await api(srv, 'GET', `/admin/exposure?from=${iso(now.getTime())}&to=${iso(now.getTime())}`, op), 'to');
        // a window in the past holds nothing
        const old = want(await api(srv, 'GET', '/admin/exposure?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z', op), 200);
        for (const l of ['search', 'feed', 'similar']) assert.equal(old.by_list[l].impressions, 0);
        // a window around now holds today's
        const cur = want(await api(srv, 'GET',
            `/admin/exposure?from=${iso(now.getTime() - 2 * 3600e3)}&to=${iso(now.getTime() + 3600e3)}`, op), 200);
        assert.ok(cur.by_list.search.impressions > 0);
        // anonymous with a bad parameter: still 401 first
        want(await api(srv, 'GET', '/admin/exposure?from=yesterday'), 401);
    });
});

describe('GET /products/{id}/similar', () => {
    test('404 for an unknown product and for a pending merchant\'s product (anonymous)', async () => {
        want(await api(srv, 'GET', '/products/999999999999/similar'), 404, 'not_found');
        want(await api(srv, 'GET', `/products/${fx.hidden.id}/similar`), 404, 'not_found');
        want(await api(srv, 'GET', `/products/${fx.hidden.id}/similar`, { token: fx.owner.token }), 200);
    });

    test('after others bought A with B and a shopper bought A, similar(A) lists B with reason bought_with', async () => {
        // The model retrains every 30 s from start; the purchases were made in before().
        const deadline = t0 + 45000;
        let r;
        for (;;) {
            r = want(await api(srv, 'GET', `/products/${sim.A.id}/similar`), 200);
            if (r.items.some((i) => i.product_id === sim.B.id) || Date.now() > deadline) break;
            await sleep(1000);
        }
        const b = r.items.find((i) => i.product_id === sim.B.id);
        assert.ok(b, `similar(A) lists B within ~40 s: ${JSON.stringify(r.items)}`);
        assert.equal(b.reason?.kind, 'bought_with');
        assert.equal(typeof b.reason.text, 'string');
        assert.equal(b.reason.anchor_product_id, sim.A.id);
        assert.ok(!r.items.some((i) => i.product_id === sim.A.id), 'a product is not similar to itself');
        assert.equal(b.merchant_id, sim.merchant.id);

        // and symmetric: similar(B) lists A
        const rb = want(await api(srv, 'GET', `/products/${sim.B.id}/similar`), 200);
        assert.ok(rb.items.some((i) => i.product_id === sim.A.id && i.reason?.kind === 'bought_with'));

        // the shopper who bought A gets B in the feed, because they bought A
        const f = want(await api(srv, 'GET', '/feed?limit=20', { token: sim.buyer.token }), 200);
        const fb = f.items.find((i) => i.product_id === sim.B.id);
        assert.ok(fb, `feed of A's buyer holds B: ${JSON.stringify(f.items.map((i) => [i.title, i.reason?.kind]))}`);
        assert.equal(fb.reason.kind, 'because_you_bought');
        assert.equal(fb.reason.anchor_product_id, sim.A.id);
        assert.ok(!f.items.some((i) => i.product_id === sim.A.id), 'what the shopper bought is not fed back');

        // similar lists are counted in the exposure ledger
        const e0 = want(await api(srv, 'GET', '/admin/exposure', { token: srv.operatorToken }), 200);
        const r2 = want(await api(srv, 'GET', `/products/${sim.A.id}/similar?limit=1`), 200);
        assert.equal(r2.items.length, 1);
        const e1 = want(await api(srv, 'GET', '/admin/exposure', { token: srv.operatorToken }), 200);
        assert.equal(e1.by_list.similar.impressions - e0.by_list.similar.impressions, 1);
    });
});
