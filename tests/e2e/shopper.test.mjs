// A shopper signs up, finds products by search, buys from two merchants in one checkout
// and pays with the sandbox; the orders show a status timeline. Also: phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATOR, apiClient, failureShots, makeMerchant, openBrowser, overflowsX, pageProblems, shot, startSouk } from './helpers.mjs';

let souk;
let api;
let ids = {};

before(async () => {
    souk = await startSouk();
    api = apiClient(souk.url);
    const op = await api('POST', '/auth/login', OPERATOR);
    const home = await api('POST', '/categories', { name: '家居 Home' }, op.token);
    const storage = await api('POST', '/categories', { name: '收纳 Storage', parent_id: home.id }, op.token);
    const food = await api('POST', '/categories', { name: '食品 Food' }, op.token);
    const a = await makeMerchant(api, op.token, { email: 'bamboo@test', name: '竹林工坊 Bamboo Works', kind: 'factory', country: 'CN' });
    const b = await makeMerchant(api, op.token, { email: 'coffee@test', name: 'Saigon Coffee Export', kind: 'exporter', country: 'VN' });
    const basket = await api(
        'POST',
        '/products',
        {
            merchant_id: a.merchant.id,
            category_id: storage.id,
            title: '竹编收纳篮 Bamboo storage basket',
            description: '手工竹编，结实耐用。Hand-woven bamboo, sturdy.',
            attributes: { material: '竹 bamboo', origin: '浙江 Zhejiang' },
            skus: [
                { code: 'S', attrs: { size: 'small 小号' }, price: 2990, currency: 'CNY', stock: 40 },
                { code: 'L', attrs: { size: 'large 大号' }, price: 4590, currency: 'CNY', stock: 25, price_tiers: [{ min_qty: 5, price: 3990 }, { min_qty: 20, price: 3490 }] },
            ],
        },
        a.token,
    );
    const coffee = await api(
        'POST',
        '/products',
        {
            merchant_id: b.merchant.id,
            category_id: food.id,
            title: 'Vietnamese drip coffee 越南滴漏咖啡 500g',
            description: 'Robusta from Buon Ma Thuot.',
            skus: [{ code: 'BAG', attrs: { weight: '500g' }, price: 8800, currency: 'CNY', stock: 60, moq: 2 }],
        },
        b.token,
    );
    ids = { a, b, basket, coffee };
});

after(async () => {
    if (souk) await souk.stop();
});

test('shopper searches, buys from two merchants in one checkout and pays', async () => {
    const shopper = await openBrowser();
    const { page, errors, close } = shopper;
    try {
        const base = souk.url;
        await page.goto(`${base}/`);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await page.getByText('竹编收纳篮 Bamboo storage basket').first().waitFor();
        await shot(page, 'shop-01-home');
        // Chinese is drawn with the app's own bundled font, not whatever the machine has.
        await page.evaluate(() => document.fonts.ready);
        const bundled = await page.evaluate(() =>
            [...document.fonts].some((f) => f.family.replace(/"/g, '') === 'Noto Sans SC' && f.status === 'loaded'),
        );
        assert.ok(bundled, 'the bundled Noto Sans SC font was not loaded for the Chinese text');
        assert.deepEqual(await pageProblems(page), []);

        // Sign up (a too-short password first: the error must be readable, not JSON).
        await page.getByRole('link', { name: 'Sign in' }).click();
        await page.getByRole('link', { name: 'Create an account' }).click();
        await page.getByLabel('Name').fill('Lin 林小姐');
        await page.getByLabel('Email').fill('lin@test');
        await page.getByLabel('Password').fill('short');
        await page.getByRole('button', { name: 'Sign up' }).click();
        await page.getByRole('alert').waitFor();
        await shot(page, 'shop-02-signup-error');
        assert.deepEqual(await pageProblems(page), []);
        await page.getByLabel('Password').fill('shopper-pass');
        await page.getByRole('button', { name: 'Sign up' }).click();
        await page.waitForURL(`${base}/`);
        await page.getByRole('heading', { level: 1, name: 'Welcome back, Lin 林小姐' }).waitFor();

        // Search as you type, then the results page with facets.
        const box = page.getByRole('combobox', { name: 'Search products' });
        await box.click();
        await box.pressSequentially('basket', { delay: 30 });
        await page.getByRole('option', { name: /Bamboo storage basket/ }).waitFor();
        await shot(page, 'shop-03-search-suggestions');
        await box.press('Enter');
        await page.waitForURL(/\/search\?q=basket/);
        await page.getByRole('heading', { name: /Results for/ }).waitFor();
        await page.getByRole('list', { name: 'Search results' }).getByText('竹编收纳篮').waitFor();
        await shot(page, 'shop-04-search-results');
        assert.deepEqual(await pageProblems(page), []);
        await page.getByRole('list', { name: 'Search results' }).getByRole('link', { name: /Bamboo storage basket/ }).click();

        // Product page: SKU picker, tiers, merchant badge; buy 5 large (tier price 39.90).
        await page.getByRole('heading', { level: 1, name: /Bamboo storage basket/ }).waitFor();
        await page.getByText('Factory · 工厂').first().waitFor();
        await page.getByRole('radio', { name: /large/ }).check();
        await page.getByRole('table', { name: /Wholesale prices/ }).waitFor();
        await page.getByLabel('Quantity').fill('5');
        await page.getByText('¥39.90').first().waitFor();
        await shot(page, 'shop-05-product');
        assert.deepEqual(await pageProblems(page), []);
        await page.getByRole('button', { name: 'Add to cart' }).click();
        await page.getByRole('link', { name: 'Go to cart' }).waitFor();

        // Second merchant: MOQ 2.
        await box.fill('');
        await box.pressSequentially('coffee', { delay: 20 });
        await page.getByRole('option', { name: /drip coffee/ }).waitFor();
        await box.press('Enter');
        await page.waitForURL(/\/search\?q=coffee/);
        await page.getByRole('list', { name: 'Search results' }).getByRole('link', { name: /drip coffee/ }).click();
        await page.getByText('Minimum order 2').waitFor();
        await page.getByText('Exporter · 外贸').first().waitFor();
        await page.getByRole('button', { name: 'Add to cart' }).click();
        await page.getByRole('link', { name: 'Go to cart' }).click();

        // Cart: one group per merchant.
        await page.getByRole('heading', { level: 1, name: /Your cart/ }).waitFor();
        await page.getByRole('region', { name: 'Items from one merchant' }).nth(1).waitFor();
        await page.getByText('竹林工坊 Bamboo Works').waitFor();
        await page.getByText('Saigon Coffee Export').waitFor();
        await shot(page, 'shop-06-cart');
        assert.deepEqual(await pageProblems(page), []);
        await page.getByRole('link', { name: 'Checkout' }).click();

        // Checkout with an address.
        await page.getByRole('heading', { level: 1, name: /Checkout/ }).waitFor();
        await page.getByLabel('Recipient name').fill('林小姐');
        await page.getByLabel('Phone', { exact: true }).fill('+86 138 0000 0000');
        await page.getByLabel('Address', { exact: true }).fill('西湖区文三路 90 号');
        await page.getByLabel('City', { exact: true }).fill('杭州 Hangzhou');
        await page.getByLabel('Region (optional)').fill('浙江');
        await page.getByLabel('Postal code (optional)').fill('310012');
        await shot(page, 'shop-07-checkout');
        await page.getByRole('button', { name: 'Place order' }).click();

        // Sandbox payment: a declined card first (readable error), then a good one.
        await page.waitForURL(/\/pay\//);
        await page.getByRole('heading', { level: 1, name: /Payment/ }).waitFor();
        await page.getByLabel(/Card number/).fill('4000 0000 0000 0002');
        await page.getByRole('button', { name: /^Pay / }).click();
        await page.getByRole('alert').waitFor();
        await shot(page, 'shop-08-pay-declined');
        assert.deepEqual(await pageProblems(page), []);
        await page.getByLabel(/Card number/).fill('4242 4242 4242 4242');
        await page.getByRole('button', { name: /^Pay / }).click();
        await page.getByText('Payment complete').waitFor();
        await shot(page, 'shop-09-paid');
        const checkoutId = page.url().split('/pay/')[1];

        // Orders with a timeline.
        await page.getByRole('link', { name: 'View my orders' }).click();
        await page.getByRole('heading', { level: 1, name: /My orders/ }).waitFor();
        await shot(page, 'shop-10-orders');
        await page.getByRole('link', { name: /^Order / }).first().click();
        await page.getByRole('list', { name: 'Order status timeline' }).waitFor();
        await shot(page, 'shop-11-order-timeline');
        assert.deepEqual(await pageProblems(page), []);

        // The server agrees: one checkout, two orders (one per merchant), both paid.
        const token = await page.evaluate(() => localStorage.getItem('souk.token'));
        const co = await api('GET', `/checkout/${checkoutId}`, undefined, token);
        assert.equal(co.orders.length, 2);
        assert.deepEqual(co.orders.map((o) => o.status).sort(), ['paid', 'paid']);
        assert.deepEqual(
            co.orders.map((o) => String(o.merchant_id)).sort(),
            [String(ids.a.merchant.id), String(ids.b.merchant.id)].sort(),
        );
        assert.deepEqual(errors, []);
    } catch (e) {
        await failureShots({ shopper });
        throw e;
    } finally {
        await close();
    }
});

test('storefront is usable at phone width', async () => {
    const { page, close } = await openBrowser({ viewport: { width: 390, height: 844 } });
    try {
        const base = souk.url;
        for (const [name, url, ready] of [
            ['phone-home', '/', () => page.getByText('竹编收纳篮').first().waitFor()],
            ['phone-product', `/product/${ids.basket.id}`, () => page.getByRole('button', { name: 'Add to cart' }).waitFor()],
            ['phone-search', '/search?q=coffee', () => page.getByRole('list', { name: 'Search results' }).waitFor()],
            ['phone-signin', '/signin', () => page.getByRole('button', { name: 'Sign in' }).last().waitFor()],
            ['phone-category', `/category/${ids.basket.category_id}`, () => page.getByText('竹编收纳篮').first().waitFor()],
            ['phone-shop', `/shop/${ids.b.merchant.id}`, () => page.getByText('Vietnamese drip coffee').first().waitFor()],
            ['phone-live-list', '/live', () => page.getByRole('heading', { level: 1, name: /Live rooms/ }).waitFor()],
        ]) {
            await page.goto(base + url);
            await ready();
            await shot(page, name);
            assert.equal(await overflowsX(page), false, `${name} scrolls sideways at 390px`);
            assert.deepEqual(await pageProblems(page), [], name);
        }
    } finally {
        await close();
    }
});
