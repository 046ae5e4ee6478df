// A new merchant onboards in the console; an operator approves it (and keeps the category
// tree); the merchant then lists a product with a SKU and wholesale tiers, which shoppers see.
// Also visits every console page once for screenshots and label checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATOR, apiClient, failureShots, openBrowser, pageProblems, shot, signInUI, startSouk } from './helpers.mjs';

let souk;
let api;

before(async () => {
    souk = await startSouk();
    api = apiClient(souk.url);
});

after(async () => {
    if (souk) await souk.stop();
});

test('operator approves a merchant who then lists a product', async () => {
    const seller = await openBrowser();
    const op = await openBrowser();
    let visitor = null;
    try {
        const base = souk.url;
        const sp = seller.page;
        const opPage = op.page;

        // The operator creates the category tree in the console.
        await signInUI(opPage, base, OPERATOR.email, OPERATOR.password, '/admin/categories');
        await opPage.getByRole('heading', { level: 1, name: /Category tree/ }).waitFor();
        await opPage.getByLabel('Category name').fill('家居 Home');
        await opPage.getByRole('button', { name: 'Create category' }).click();
        await opPage.getByRole('list').getByText('家居 Home').waitFor();
        await opPage.getByLabel('Category name').fill('茶具 Tea ware');
        await opPage.getByLabel('Parent').selectOption({ label: '家居 Home' });
        await opPage.getByRole('button', { name: 'Create category' }).click();
        await opPage.getByText('茶具 Tea ware').first().waitFor();
        await shot(opPage, 'op-01-categories');
        assert.deepEqual(await pageProblems(opPage), []);

        // A new user signs up and onboards as a merchant.
        await sp.goto(`${base}/signup?next=/merchant`);
        await sp.getByLabel('Name').fill('Wang 王师傅');
        await sp.getByLabel('Email').fill('potter@test');
        await sp.getByLabel('Password').fill('potter-pass');
        await sp.getByRole('button', { name: 'Sign up' }).click();
        await sp.getByRole('heading', { level: 1, name: /Open your shop/ }).waitFor();
        await sp.getByLabel('Shop name').fill('景德镇陶瓷坊 Jingdezhen Pottery');
        await sp.getByLabel('Kind of business').selectOption('rural');
        await sp.getByLabel('Country code').fill('XX1');
        await sp.getByLabel('Country code').fill('cn');
        await shot(sp, 'op-02-onboarding');
        assert.deepEqual(await pageProblems(sp), []);
        await sp.getByRole('button', { name: 'Submit for approval' }).click();
        await sp.waitForURL(/\/merchant\/\d+$/);
        const mid = sp.url().split('/').pop();
        await sp.getByText('Waiting for an operator to approve').waitFor();
        await shot(sp, 'op-03-merchant-pending');

        // The operator approves it.
        await opPage.getByRole('link', { name: 'Merchants' }).click();
        await opPage.getByRole('heading', { level: 1, name: /Merchants/ }).waitFor();
        await opPage.getByRole('button', { name: /Approve 景德镇陶瓷坊/ }).waitFor();
        await shot(opPage, 'op-04-approvals');
        assert.deepEqual(await pageProblems(opPage), []);
        await opPage.getByRole('button', { name: /Approve 景德镇陶瓷坊/ }).click();
        await opPage.getByText('No merchants waiting for approval').waitFor();
        const merchant = await api('GET', `/merchants/${mid}`);
        assert.equal(merchant.status, 'active');

        // Operator's other pages: they must render (empty states where the server has no data yet).
        for (const [name, link, h1] of [
            ['op-05-programs', 'Programs', /Merchant programs/],
            ['op-06-figures', 'Platform figures', /Platform figures/],
            ['op-07-exposure', 'Exposure', /Exposure report/],
        ]) {
            await opPage.getByRole('link', { name: link }).click();
            await opPage.getByRole('heading', { level: 1, name: h1 }).waitFor();
            await opPage.waitForLoadState('networkidle');
            await shot(opPage, name);
            assert.deepEqual(await pageProblems(opPage), [], name);
        }

        // The merchant lists a product: a SKU with wholesale tiers and an MOQ.
        await sp.reload();
        await sp.getByRole('heading', { level: 1, name: /Jingdezhen Pottery/ }).waitFor();
        assert.equal(await sp.getByText('Waiting for an operator to approve').count(), 0);
        await sp.getByRole('link', { name: 'Products' }).click();
        await sp.getByRole('link', { name: 'New product' }).click();
        await sp.getByLabel('Title').fill('手工陶瓷茶杯 Handmade porcelain cup');
        await sp.getByLabel('Category').selectOption({ label: '— 茶具 Tea ware' });
        await sp.getByLabel('Description').fill('青花瓷，手绘。Hand-painted blue and white.');
        await sp.getByLabel('SKU 1 code').fill('BLUE');
        await sp.getByLabel('SKU 1 options').fill('color=青花 blue');
        // A bad price is caught with a readable message first.
        await sp.getByLabel('SKU 1 price').fill('12.345');
        await sp.getByLabel('SKU 1 stock').fill('300');
        await sp.getByLabel('SKU 1 minimum order').fill('2');
        await sp.getByRole('button', { name: 'Add tier to SKU 1' }).click();
        await sp.getByLabel('SKU 1 tier 1 from quantity').fill('10');
        await sp.getByLabel('SKU 1 tier 1 unit price').fill('19.90');
        await sp.getByRole('button', { name: 'List product' }).click();
        await sp.getByRole('alert').waitFor();
        await shot(sp, 'op-08-product-form-error');
        assert.deepEqual(await pageProblems(sp), []);
        await sp.getByLabel('SKU 1 price').fill('25.00');
        await sp.getByRole('button', { name: 'List product' }).click();
        // (the form's own URL ends in /products/new: wait for the id)
        await sp.waitForURL(/\/merchant\/[^/]+\/products\/\d+$/);
        const pid = sp.url().split('/').pop();
        await sp.getByRole('heading', { level: 1, name: /Handmade porcelain cup/ }).waitFor();
        await shot(sp, 'op-09-product-edit');
        assert.deepEqual(await pageProblems(sp), []);

        // The merchant reprices the listed SKU (PATCH /skus/{id}): price and a wholesale tier.
        const reprice = sp.getByText(/^Reprice /).first();
        await reprice.click();
        await sp.getByLabel(/^Unit price/).first().fill('22.00');
        await sp.getByLabel(/^Wholesale tiers/).first().fill('10: 19.50');
        await sp.getByRole('button', { name: 'Save prices' }).first().click();
        await sp.getByText(/repriced/).first().waitFor();
        await sp.getByText(/10\+ : ¥19\.50/).first().waitFor();
        await shot(sp, 'op-09b-repriced');
        assert.deepEqual(await pageProblems(sp), []);

        // Every other console page renders for the screenshots.
        for (const [name, link, h1] of [
            ['op-10-merchant-products', 'Products', /Products/],
            ['op-11-merchant-stock', 'Stock', /Stock/],
            ['op-12-merchant-orders', 'Orders', /Orders/],
            ['op-13-merchant-ledger', 'Ledger', /Ledger/],
            ['op-14-merchant-figures', 'Sales figures', /Sales figures/],
            ['op-15-merchant-live', 'Live rooms', /Live rooms/],
        ]) {
            await sp.getByRole('navigation', { name: 'Merchant console' }).getByRole('link', { name: link }).click();
            await sp.getByRole('heading', { level: 1, name: h1 }).waitFor();
            await sp.waitForLoadState('networkidle');
            await sp.waitForTimeout(300);
            await shot(sp, name);
            assert.deepEqual(await pageProblems(sp), [], name);
        }

        // A visitor (not signed in) sees the product with its tiers and the merchant's kind.
        visitor = await openBrowser({ viewport: { width: 390, height: 844 } });
        const anon = visitor.page;
        await anon.goto(`${base}/product/${pid}`);
        await anon.getByRole('heading', { level: 1, name: /Handmade porcelain cup/ }).waitFor();
        await anon.getByText('Rural · 农特产').first().waitFor();
        await anon.getByRole('table', { name: /Wholesale prices/ }).waitFor();
        await anon.getByText('Minimum order 2').waitFor();
        await shot(anon, 'op-16-product-in-store');
        const p = await api('GET', `/products/${pid}`);
        assert.equal(p.skus[0].price, 2200); // repriced above from 25.00
        assert.equal(p.skus[0].moq, 2);
        assert.deepEqual(p.skus[0].price_tiers, [{ min_qty: 10, price: 1950 }]);
        assert.deepEqual(seller.errors, []);
        assert.deepEqual(op.errors, []);
    } catch (e) {
        await failureShots({ seller, op, visitor });
        throw e;
    } finally {
        await seller.close();
        await op.close();
        if (visitor) await visitor.close();
    }
});
