// A merchant creates a live room and a flash-sale item in the console and goes live; a
// shopper in a second browser buys during the sale, pays, and sees the stock fall.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATOR, apiClient, failureShots, makeMerchant, openBrowser, pageProblems, shot, signInUI, startSouk } from './helpers.mjs';

let souk;
let api;
let m;
let shopper;

before(async () => {
    souk = await startSouk();
    api = apiClient(souk.url);
    const op = await api('POST', '/auth/login', OPERATOR);
    const cat = await api('POST', '/categories', { name: '美妆 Beauty' }, op.token);
    m = await makeMerchant(api, op.token, { email: 'live@test', name: '花西子 Live Studio', kind: 'brand', country: 'CN' });
    await api(
        'POST',
        '/products',
        {
            merchant_id: m.merchant.id,
            category_id: cat.id,
            title: '雕花口红 Carved lipstick',
            skus: [{ code: 'RED', attrs: { shade: '正红 red' }, price: 12900, currency: 'CNY', stock: 100 }],
        },
        m.token,
    );
    shopper = await api('POST', '/auth/register', { email: 'fan@test', password: 'shopper-pass', name: 'Fan 粉丝' });
});

after(async () => {
    if (souk) await souk.stop();
});

test('merchant runs a live room; a shopper buys during the sale and sees stock fall', async () => {
    const host = await openBrowser();
    const fan = await openBrowser({ viewport: { width: 414, height: 896 } });
    try {
        const base = souk.url;
        const mid = m.merchant.id;
        await signInUI(host.page, base, m.email, m.password, `/merchant/${mid}/live`);
        const hp = host.page;
        await hp.getByRole('heading', { level: 1, name: /Live rooms/ }).waitFor();
        await hp.getByLabel('Room title').fill('双十一直播 Singles Day live');
        await shot(hp, 'live-01-rooms');
        await hp.getByRole('button', { name: 'Create room' }).click();
        await hp.waitForURL(/\/merchant\/\d+\/live\/\d+$/);
        const roomId = hp.url().split('/').pop();
        await hp.getByRole('heading', { level: 1, name: /Singles Day live/ }).waitFor();

        // Add the flash-sale item: 20 units at 99.00, 3 per shopper.
        await hp.getByLabel('SKU', { exact: true }).selectOption({ index: 0 });
        await hp.getByLabel('Live price').fill('99.00');
        await hp.getByLabel('Quantity for the sale').fill('20');
        await hp.getByLabel('Limit per shopper').fill('3');
        await hp.getByRole('button', { name: 'Add item' }).click();
        await hp.getByRole('cell', { name: '20 / 20' }).waitFor();
        await hp.getByRole('button', { name: 'Start live' }).click();
        await hp.getByRole('button', { name: 'End live' }).waitFor();
        await hp.getByRole('button', { name: /^Pin/ }).first().click();
        await hp.getByText('Pinned', { exact: true }).waitFor();
        await shot(hp, 'live-02-control');
        assert.deepEqual(await pageProblems(hp), []);

        // The shopper joins the room.
        const fp = fan.page;
        await fp.goto(`${base}/`);
        await fp.evaluate((t) => localStorage.setItem('souk.token', t), shopper.token);
        await fp.goto(`${base}/live/${roomId}`);
        await fp.getByText('● LIVE').waitFor();
        const left = fp.getByTestId('stock-left').first();
        await left.filter({ hasText: /^20$/ }).waitFor();
        await fp.getByText('雕花口红 Carved lipstick').first().waitFor();
        await shot(fp, 'live-03-shopper-before');
        assert.deepEqual(await pageProblems(fp), []);

        // Viewer count reaches the host's page too.
        await hp.getByText(/[1-9]\d* watching/).waitFor({ timeout: 15000 });

        await fp.getByLabel('Quantity').first().selectOption('2');
        await fp.getByRole('button', { name: /Buy now/ }).first().click();
        await fp.getByRole('button', { name: /Pay now/ }).click();
        await fp.getByText('Paid ✓').waitFor();
        // Stock fell, pushed over the room's event stream.
        await left.filter({ hasText: /^18$/ }).waitFor({ timeout: 15000 });
        await shot(fp, 'live-04-shopper-after');

        await hp.getByRole('cell', { name: '18 / 20' }).waitFor({ timeout: 15000 });
        await shot(hp, 'live-05-control-sold');

        // The merchant ships the paid live order; the shopper's timeline shows it.
        await hp.getByRole('navigation', { name: 'Merchant console' }).getByRole('link', { name: 'Orders' }).click();
        await hp.getByRole('heading', { level: 1, name: /Orders/ }).waitFor();
        await hp.getByRole('button', { name: 'Ship' }).first().click();
        await hp.getByLabel('Carrier').fill('顺丰 SF Express');
        await hp.getByLabel('Tracking number').fill('SF1234567890');
        await shot(hp, 'live-06-merchant-ship');
        await hp.getByRole('button', { name: 'Confirm shipment' }).click();
        await hp.getByRole('button', { name: 'Mark delivered' }).waitFor();
        await shot(hp, 'live-07-merchant-orders');
        assert.deepEqual(await pageProblems(hp), []);
        await hp.getByRole('navigation', { name: 'Merchant console' }).getByRole('link', { name: 'Ledger' }).click();
        await hp.getByRole('heading', { level: 1, name: /Ledger/ }).waitFor();
        await hp.getByRole('cell', { name: 'Sale' }).first().waitFor();
        await shot(hp, 'live-08-ledger');
        assert.deepEqual(await pageProblems(hp), []);

        await fp.getByRole('link', { name: 'See your order' }).click();
        await fp.getByRole('list', { name: 'Order status timeline' }).waitFor();
        await fp.getByText('SF1234567890').waitFor();
        await shot(fp, 'live-09-shopper-order-shipped');

        const room = await api('GET', `/live/rooms/${roomId}`, undefined, m.token);
        assert.equal(room.items[0].remaining, 18);
        assert.equal(room.items[0].sold, 2);
        assert.deepEqual(host.errors, []);
        assert.deepEqual(fan.errors, []);
    } catch (e) {
        await failureShots({ host, fan });
        throw e;
    } finally {
        await host.close();
        await fan.close();
    }
});
