// Live rooms and flash sales (API.md "Live rooms and flash sales", core/live.h):
// the room lifecycle, every error code of the live endpoints, authorization,
// per-user limits under a burst, idempotent buys, and what expiry, payment,
// cancellation and the end of a room do to the item's and the SKU's counters.
//
// Invariant checked throughout: remaining + held + sold = quantity, and the SKU's
// reservation for an item is quantity − sold.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, api, want, wantInvalid, uniq, registerShopper, makeShop, createMerchant, addStaff, getSku,
    getOrder, listAll, clearCart, sleep, pool, ADDRESS,
} from './lib/harness.mjs';
import {
    createRoom, addItem, startRoom, endRoom, getRoom, getItem, buyCall, buyLive, payOrder, assertInvariant,
} from './lib/live.mjs';

let srv; // default windows (live payment window 300 s)
let fast; // --live-payment-window 2

const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

before(async () => {
    [srv, fast] = await Promise.all([
        startServer({ seedShoppers: 60 }),
        startServer({ livePaymentWindow: 2, seedShoppers: 8 }),
    ]);
});
after(async () => {
    await Promise.all([srv?.stop(), fast?.stop()]);
});

/** Units of `itemId` in the live orders `token` can see, by status. */
async function liveOrdersOf(server, token, itemId) {
    const all = await listAll(server, '/orders', token);
    return all.filter((o) => o.live_item_id === itemId);
}

test('a room goes scheduled → live → ended; an item sets SKU units aside; a buy holds them; pay sells them', async () => {
    const shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 100 }] });
    const { owner, merchant } = shop;
    const sku = shop.skus[0];
    const buyer = await registerShopper(srv, 'buyer');

    const room = await createRoom(srv, owner.token, merchant.id, { title: 'Singles Day', scheduled_at: '2030-11-11T20:00:00Z' });
    assert.equal(room.status, 'scheduled');
    assert.equal(room.merchant_id, merchant.id);
    assert.equal(room.title, 'Singles Day');
    assert.equal(Date.parse(room.scheduled_at), Date.parse('2030-11-11T20:00:00Z'));
    assert.deepEqual(room.items, []);
    assert.equal(room.viewers, 0);
    assert.equal(typeof room.id, 'string');

    const s0 = await getSku(srv, sku.id);
    const item = await addItem(srv, owner.token, room.id, { sku_id: sku.id, live_price: 700, quantity: 30, per_user_limit: 3 });
    assert.equal(typeof item.id, 'string');
    assert.deepEqual(
        [item.sku_id, item.live_price, item.quantity, item.remaining, item.sold, item.per_user_limit, item.starts_at],
        [sku.id, 700, 30, 30, 0, 3, null]);
    assertInvariant(item, 'after add');
    const s1 = await getSku(srv, sku.id);
    assert.deepEqual([s1.on_hand, s1.reserved, s1.available], [s0.on_hand, s0.reserved + 30, s0.available - 30],
        'the item sets its quantity aside from the SKU');

    // anyone may read a room of an active merchant
    const pub = await getRoom(srv, room.id);
    assert.equal(pub.items.length, 1);
    assert.equal(pub.items[0].id, item.id);
    const listed = await listAll(srv, `/live/rooms?status=scheduled&merchant_id=${merchant.id}`);
    assert.deepEqual(listed.map((r) => r.id), [room.id]);

    want(await buyCall(srv, buyer.token, room.id, item.id, 1), 409, 'room_not_live');

    const live = await startRoom(srv, owner.token, room.id);
    assert.equal(live.status, 'live');
    assert.ok(live.started_at && !Number.isNaN(Date.parse(live.started_at)), 'started_at set');
    assert.equal((await startRoom(srv, owner.token, room.id)).status, 'live', 'starting a live room again is a no-op');
    assert.deepEqual((await listAll(srv, `/live/rooms?status=live&merchant_id=${merchant.id}`)).map((r) => r.id), [room.id]);

    const order = await buyLive(srv, buyer.token, room.id, item.id, 2);
    assert.equal(order.status, 'pending_payment');
    assert.equal(order.subtotal, 1400);
    assert.equal(order.live_item_id, item.id);
    assert.equal(order.merchant_id, merchant.id);
    assert.equal(order.user_id, buyer.id);
    assert.equal(order.lines.length, 1);
    assert.deepEqual([order.lines[0].sku_id, order.lines[0].qty, order.lines[0].unit_price], [sku.id, 2, 700]);
    const window = Date.parse(order.expires_at) - Date.parse(order.created_at);
    assert.ok(window >= 299000 && window <= 301000, `default live payment window is 300 s, got ${window} ms`);

    let it = await getItem(srv, room.id, item.id);
    assert.deepEqual([it.remaining, it.held, it.sold], [28, 2, 0]);
    assertInvariant(it, 'after buy');
    assert.deepEqual(await getSku(srv, sku.id), s1, 'a buy does not touch the SKU (units are already set aside)');
    assert.equal((await getOrder(srv, order.id, buyer.token)).id, order.id);
    assert.equal((await getOrder(srv, order.id, owner.token)).id, order.id, 'merchant staff see the live order');

    const paid = await payOrder(srv, buyer.token, order.id);
    assert.equal(paid.status, 'paid');
    it = await getItem(srv, room.id, item.id);
    assert.deepEqual([it.remaining, it.held, it.sold], [28, 0, 2]);
    assertInvariant(it, 'after pay');
    const s2 = await getSku(srv, sku.id);
    assert.deepEqual([s2.on_hand, s2.reserved, s2.available, s2.sold],
        [s1.on_hand - 2, s1.reserved - 2, s1.available, s1.sold + 2], 'pay: held → sold, on_hand −2');
    assert.equal(s2.reserved - s0.reserved, it.quantity - it.sold, 'SKU reservation = quantity − sold');

    const ended = await endRoom(srv, owner.token, room.id);
    assert.equal(ended.status, 'ended');
    assert.ok(ended.ended_at, 'ended_at set');
    it = ended.items[0];
    assert.deepEqual([it.quantity, it.remaining, it.held, it.sold], [2, 0, 0, 2], 'the end gives the 28 remaining back');
    const s3 = await getSku(srv, sku.id);
    assert.deepEqual([s3.on_hand, s3.reserved, s3.available], [s2.on_hand, s0.reserved, s2.available + 28]);
    assert.deepEqual((await listAll(srv, `/live/rooms?status=ended&merchant_id=${merchant.id}`)).map((r) => r.id), [room.id]);
});

test('409s: sold_out, per_user_limit, sale_not_started, room_not_live, room_ended, insufficient_stock', async () => {
    const shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 100 }, { code: 'B', price: 300, stock: 5 }] });
    const { owner, merchant } = shop;
    const [a, b] = shop.skus;
    const [x, y, z] = await Promise.all(['x', 'y', 'z'].map((p) => registerShopper(srv, p)));
    const room = await createRoom(srv, owner.token, merchant.id);

    // insufficient_stock: B has 5 available
    const bad = want(await api(srv, 'POST', `/live/rooms/${room.id}/items`, {
        token: owner.token, body: { sku_id: b.id, live_price: 100, quantity: 6, per_user_limit: 1 },
    }), 409, 'insufficient_stock');
    assert.deepEqual(bad.skus, [b.id], 'insufficient_stock names the SKU');
    assert.equal(bad.available, 5);
    assert.equal((await getSku(srv, b.id)).reserved, 0, 'a refused item reserves nothing');
    const allB = await addItem(srv, owner.token, room.id, { sku_id: b.id, quantity: 5, per_user_limit: 1 });
    const room2 = await createRoom(srv, owner.token, merchant.id);
    const none = want(await api(srv, 'POST', `/live/rooms/${room2.id}/items`, {
        token: owner.token, body: { sku_id: b.id, live_price: 100, quantity: 1, per_user_limit: 1 },
    }), 409, 'insufficient_stock');
    assert.equal(none.available, 0, 'units set aside for one room are not available to another');
    // … nor to the cart: adding to the cart or checking out is refused
    await clearCart(srv, z.token);
    const add = await api(srv, 'POST', '/cart/items', { token: z.token, body: { sku_id: b.id, qty: 1 } });
    if (add.status === 200) want(await api(srv, 'POST', '/checkout', { token: z.token, idem: uniq('co'), body: { shipping_address: ADDRESS } }),
        409, 'insufficient_stock');
    else want(add, 409, 'insufficient_stock');
    await clearCart(srv, z.token);
    // … nor can the merchant take them off the shelf
    want(await api(srv, 'PUT', `/skus/${b.id}/stock`, { token: owner.token, body: { on_hand: 4 } }), 409, 'stock_reserved');

    const soon = await addItem(srv, owner.token, room.id, { sku_id: a.id, quantity: 3, per_user_limit: 5,
        starts_at: rfc3339(Date.now() + 3600e3) });
    const open = await addItem(srv, owner.token, room.id, { sku_id: a.id, quantity: 3, per_user_limit: 5,
        starts_at: rfc3339(Date.now() - 60e3) });
    const lim = await addItem(srv, owner.token, room.id, { sku_id: a.id, quantity: 10, per_user_limit: 2 });

    // room_not_live: the room is still scheduled
    for (const it of [allB, soon, open, lim]) want(await buyCall(srv, x.token, room.id, it.id, 1), 409, 'room_not_live');
    await startRoom(srv, owner.token, room.id);

    // sale_not_started (starts_at in an hour); a past starts_at sells
    want(await buyCall(srv, x.token, room.id, soon.id, 1), 409, 'sale_not_started');
    assertInvariant(await getItem(srv, room.id, soon.id));
    assert.equal((await getItem(srv, room.id, soon.id)).remaining, 3);

    // sold_out: 3 units
    await buyLive(srv, x.token, room.id, open.id, 2);
    want(await buyCall(srv, y.token, room.id, open.id, 2), 409, 'sold_out'); // 1 left < 2
    await buyLive(srv, y.token, room.id, open.id, 1);
    want(await buyCall(srv, z.token, room.id, open.id, 1), 409, 'sold_out');
    let it = await getItem(srv, room.id, open.id);
    assert.deepEqual([it.remaining, it.held, it.sold], [0, 3, 0]);
    assertInvariant(it);

    // per_user_limit: 2 a shopper, counting held units
    want(await buyCall(srv, x.token, room.id, lim.id, 3), 409, 'per_user_limit');
    await buyLive(srv, x.token, room.id, lim.id, 1);
    want(await buyCall(srv, x.token, room.id, lim.id, 2), 409, 'per_user_limit');
    const o2 = await buyLive(srv, x.token, room.id, lim.id, 1);
    await payOrder(srv, x.token, o2.id);
    want(await buyCall(srv, x.token, room.id, lim.id, 1), 409, 'per_user_limit'); // paid units count too
    await buyLive(srv, y.token, room.id, lim.id, 2);
    it = await getItem(srv, room.id, lim.id);
    assert.deepEqual([it.remaining, it.held, it.sold], [6, 3, 1]);
    assertInvariant(it);

    // refusals created no orders
    assert.equal((await liveOrdersOf(srv, z.token, open.id)).length, 0);
    assert.equal((await liveOrdersOf(srv, x.token, lim.id)).length, 2);

    // room_ended: buy, add an item, start again
    const ended = await endRoom(srv, owner.token, room.id);
    for (const i of ended.items) assertInvariant(i, 'ended');
    want(await buyCall(srv, y.token, room.id, soon.id, 1), 409, 'room_ended');
    want(await buyCall(srv, z.token, room.id, lim.id, 1), 409, 'room_ended');
    want(await api(srv, 'POST', `/live/rooms/${room.id}/items`, {
        token: owner.token, body: { sku_id: a.id, live_price: 100, quantity: 1, per_user_limit: 1 },
    }), 409, 'room_ended');
    want(await api(srv, 'POST', `/live/rooms/${room.id}/start`, { token: owner.token }), 409, 'room_ended');
    const again = await endRoom(srv, owner.token, room.id);
    assert.deepEqual(again.items.map((i) => [i.quantity, i.remaining]), ended.items.map((i) => [i.quantity, i.remaining]),
        'ending an ended room changes nothing');
    assert.equal(again.ended_at, ended.ended_at);

    // scheduled → ended directly
    const r3 = await createRoom(srv, owner.token, merchant.id);
    const i3 = await addItem(srv, owner.token, r3.id, { sku_id: a.id, quantity: 4, per_user_limit: 1 });
    const aBefore = await getSku(srv, a.id);
    const e3 = await endRoom(srv, owner.token, r3.id);
    assert.equal(e3.status, 'ended');
    assert.deepEqual([e3.items[0].quantity, e3.items[0].remaining], [0, 0]);
    assert.equal((await getSku(srv, a.id)).available, aBefore.available + 4);
    want(await buyCall(srv, x.token, r3.id, i3.id, 1), 409, 'room_ended');
});

describe('authorization and validation on every live endpoint', () => {
    const F = {};
    before(async () => {
        const shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 100 }, { code: 'B', price: 10, stock: 100 }] });
        const otherShop = await makeShop(srv, { category: shop.category });
        const [staff, shopper] = await Promise.all([registerShopper(srv, 'staff'), registerShopper(srv, 'shopper')]);
        await addStaff(srv, shop.merchant.id, shop.owner.token, staff.email);
        Object.assign(F, { shop, otherShop, staff, shopper, M: shop.merchant, A: shop.skus[0], B: shop.skus[1] });
        F.room = await createRoom(srv, shop.owner.token, F.M.id);
        F.item = await addItem(srv, shop.owner.token, F.room.id, { sku_id: F.A.id, quantity: 20, per_user_limit: 20 });
        F.otherRoom = await createRoom(srv, otherShop.owner.token, otherShop.merchant.id);
        F.otherItem = await addItem(srv, otherShop.owner.token, F.otherRoom.id, { sku_id: otherShop.skus[0].id, quantity: 5 });
        await startRoom(srv, otherShop.owner.token, F.otherRoom.id);
        F.tokens = {
            anon: undefined,
            shopper: shopper.token,
            operator: srv.operatorToken,
            courier: srv.courierToken,
            otherOwner: otherShop.owner.token,
        };
    });

    // expected answer of each caller on a manage endpoint of F.room
    const DENIED = { anon: [401, 'unauthorized'], shopper: [403, 'forbidden'], operator: [403, 'forbidden'],
        courier: [403, 'forbidden'], otherOwner: [404, 'not_found'] };

    test('POST /live/rooms', async () => {
        const body = () => ({ merchant_id: F.M.id, title: uniq('R') });
        for (const [who, [st, code]] of Object.entries(DENIED)) {
            want(await api(srv, 'POST', '/live/rooms', { token: F.tokens[who], body: body() }), st, code);
        }
        const t = F.shop.owner.token;
        want(await api(srv, 'POST', '/live/rooms', { token: t, rawBody: '{"merchant_id": ' }), 400, 'bad_json');
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, rawBody: '[]' }));
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, body: { merchant_id: F.M.id } }), 'title');
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, body: { merchant_id: F.M.id, title: '' } }), 'title');
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, body: { merchant_id: F.M.id, title: 'x'.repeat(201) } }), 'title');
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, body: { merchant_id: F.M.id, title: 7 } }), 'title');
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, body: { title: 'x' } }), 'merchant_id');
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, body: { merchant_id: '999999999', title: 'x' } }), 'merchant_id');
        wantInvalid(await api(srv, 'POST', '/live/rooms', { token: t, body: { ...body(), scheduled_at: 'tomorrow' } }), 'scheduled_at');
        // staff of the merchant may, and Idempotency-Key replays
        const key = uniq('room');
        const b = body();
        const r1 = await api(srv, 'POST', '/live/rooms', { token: F.staff.token, idem: key, body: b });
        want(r1, 201);
        const r2 = await api(srv, 'POST', '/live/rooms', { token: F.staff.token, idem: key, body: b });
        want(r2, 201);
        assert.equal(r2.json.id, r1.json.id, 'same key, same room');
        assert.equal(r2.headers.get('idempotent-replayed'), 'true');
        want(await api(srv, 'POST', '/live/rooms', { token: F.staff.token, idem: key, body: body() }), 422, 'idempotency_key_reused');
    });

    test('POST /live/rooms/{id}/items', async () => {
        const p = `/live/rooms/${F.room.id}/items`;
        const good = { sku_id: F.B.id, live_price: 5, quantity: 2, per_user_limit: 1 };
        for (const [who, [st, code]] of Object.entries(DENIED)) want(await api(srv, 'POST', p, { token: F.tokens[who], body: good }), st, code);
        const t = F.shop.owner.token;
        want(await api(srv, 'POST', '/live/rooms/999999999/items', { token: t, body: good }), 404, 'not_found');
        want(await api(srv, 'POST', `/live/rooms/${F.otherRoom.id}/items`, { token: t, body: good }), 404, 'not_found');
        want(await api(srv, 'POST', p, { token: t, rawBody: '{"sku_id":' }), 400, 'bad_json');
        const cases = [
            [{ ...good, sku_id: undefined }, 'sku_id'],
            [{ ...good, sku_id: '999999999' }, 'sku_id'],
            [{ ...good, sku_id: F.otherShop.skus[0].id }, 'sku_id'], // another merchant's SKU
            [{ ...good, live_price: -1 }, 'live_price'],
            [{ ...good, live_price: '5' }, 'live_price'],
            [{ ...good, live_price: undefined }, 'live_price'],
            [{ ...good, quantity: 0 }, 'quantity'],
            [{ ...good, quantity: 10000001 }, 'quantity'],
            [{ ...good, quantity: 1.5 }, 'quantity'],
            [{ ...good, per_user_limit: 0 }, 'per_user_limit'],
            [{ ...good, per_user_limit: 1001 }, 'per_user_limit'],
            [{ ...good, per_user_limit: undefined }, 'per_user_limit'],
            [{ ...good, starts_at: 'soon' }, 'starts_at'],
            [{ ...good, starts_at: 12 }, 'starts_at'],
        ];
        for (const [body, field] of cases) wantInvalid(await api(srv, 'POST', p, { token: t, body }), field);
        const room = await getRoom(srv, F.room.id);
        assert.equal(room.items.length, 1, 'refused requests added nothing');
        assert.equal((await getSku(srv, F.B.id)).reserved, 0, 'refused requests reserved nothing');
        const it = await addItem(srv, F.staff.token, F.room.id, good);
        assert.equal(it.quantity, 2, 'staff of the merchant may add items');
        F.itemB = it;
    });

    test('POST /live/rooms/{id}/pin', async () => {
        const p = `/live/rooms/${F.room.id}/pin`;
        for (const [who, [st, code]] of Object.entries(DENIED)) {
            want(await api(srv, 'POST', p, { token: F.tokens[who], body: { item_id: F.item.id } }), st, code);
        }
        const t = F.shop.owner.token;
        assert.equal((await getRoom(srv, F.room.id)).pinned_item_id, null);
        want(await api(srv, 'POST', '/live/rooms/999999999/pin', { token: t, body: { item_id: F.item.id } }), 404, 'not_found');
        want(await api(srv, 'POST', p, { token: t, rawBody: '{' }), 400, 'bad_json');
        wantInvalid(await api(srv, 'POST', p, { token: t, body: {} }), 'item_id');
        wantInvalid(await api(srv, 'POST', p, { token: t, body: { item_id: F.otherItem.id } }), 'item_id');
        wantInvalid(await api(srv, 'POST', p, { token: t, body: { item_id: 'nope' } }), 'item_id');
        const r = want(await api(srv, 'POST', p, { token: F.staff.token, body: { item_id: F.item.id } }), 200);
        assert.equal(r.pinned_item_id, F.item.id);
        assert.equal((await getRoom(srv, F.room.id)).pinned_item_id, F.item.id);
    });

    test('POST /live/rooms/{id}/start and /end', async () => {
        for (const move of ['start', 'end']) {
            for (const [who, [st, code]] of Object.entries(DENIED)) {
                want(await api(srv, 'POST', `/live/rooms/${F.room.id}/${move}`, { token: F.tokens[who] }), st, code);
            }
            want(await api(srv, 'POST', `/live/rooms/999999999/${move}`, { token: F.shop.owner.token }), 404, 'not_found');
            want(await api(srv, 'POST', `/live/rooms/${F.otherRoom.id}/${move}`, { token: F.shop.owner.token }), 404, 'not_found');
        }
        assert.equal((await getRoom(srv, F.room.id)).status, 'scheduled', 'refused moves changed nothing');
        // the body is ignored
        const r = want(await api(srv, 'POST', `/live/rooms/${F.room.id}/start`, { token: F.staff.token, rawBody: 'not json' }), 200);
        assert.equal(r.status, 'live');
    });

    test('POST /live/rooms/{id}/items/{item}/buy', async () => {
        const p = `/live/rooms/${F.room.id}/items/${F.item.id}/buy`;
        const u = F.shopper.token;
        want(await api(srv, 'POST', p, { body: { qty: 1 } }), 401, 'unauthorized');
        want(await api(srv, 'POST', p, { token: 'not-a-token', body: { qty: 1 } }), 401, 'unauthorized');
        want(await api(srv, 'POST', p, { token: u, rawBody: '{"qty": 1' }), 400, 'bad_json');
        for (const qty of [0, -1, 1001, '1', 1.5, null, undefined, true]) {
            wantInvalid(await api(srv, 'POST', p, { token: u, body: { qty } }), 'qty');
        }
        wantInvalid(await api(srv, 'POST', p, { token: u, rawBody: '[1]' }));
        want(await api(srv, 'POST', `/live/rooms/999999999/items/${F.item.id}/buy`, { token: u, body: { qty: 1 } }), 404, 'not_found');
        want(await api(srv, 'POST', `/live/rooms/${F.room.id}/items/999999999/buy`, { token: u, body: { qty: 1 } }), 404, 'not_found');
        want(await api(srv, 'POST', `/live/rooms/${F.room.id}/items/${F.otherItem.id}/buy`, { token: u, body: { qty: 1 } }), 404,
            'not_found');
        want(await api(srv, 'POST', `/live/rooms/${F.otherRoom.id}/items/${F.item.id}/buy`, { token: u, body: { qty: 1 } }), 404,
            'not_found');
        want(await api(srv, 'POST', p, { token: u, body: { qty: 1 }, idem: 'k'.repeat(256) }), 422, 'invalid');
        const it = await getItem(srv, F.room.id, F.item.id);
        assert.deepEqual([it.remaining, it.held], [20, 0], 'refused buys took nothing');
        // any signed-in user may buy: a shopper, and the other merchant's owner
        await buyLive(srv, u, F.room.id, F.item.id, 1);
        await buyLive(srv, F.otherShop.owner.token, F.room.id, F.item.id, 1);
        assertInvariant(await getItem(srv, F.room.id, F.item.id));
    });

    test('GET /live/rooms, /live/rooms/{id} and /events: visibility and 404/422', async () => {
        want(await api(srv, 'GET', '/live/rooms/999999999'), 404, 'not_found');
        want(await api(srv, 'GET', '/live/rooms/abc'), 404);
        want(await api(srv, 'GET', '/live/rooms/999999999/events'), 404, 'not_found');
        for (const q of ['status=bogus', 'merchant_id=abc', 'limit=0', 'limit=101', 'cursor=zzz']) {
            want(await api(srv, 'GET', `/live/rooms?${q}`), 422, 'invalid');
        }
        // a pending merchant's room: only its staff and operators see it
        const owner = await registerShopper(srv, 'pend');
        const pending = await createMerchant(srv, owner.token);
        const room = await createRoom(srv, owner.token, pending.id);
        for (const token of [undefined, F.shopper.token, F.otherShop.owner.token]) {
            want(await api(srv, 'GET', `/live/rooms/${room.id}`, { token }), 404, 'not_found');
            want(await api(srv, 'GET', `/live/rooms/${room.id}/events`, { token }), 404, 'not_found');
            const list = await listAll(srv, `/live/rooms?merchant_id=${pending.id}`, token);
            assert.equal(list.length, 0, 'a pending merchant\'s rooms are not listed to the public');
        }
        // … and nobody can buy in it
        const product = want(await api(srv, 'POST', '/products', { token: owner.token, body: {
            merchant_id: pending.id, category_id: F.shop.category.id, title: uniq('P'),
            skus: [{ code: 'P', price: 100, currency: 'USD', stock: 10 }] } }), 201);
        const pit = await addItem(srv, owner.token, room.id, { sku_id: product.skus[0].id, quantity: 3 });
        await startRoom(srv, owner.token, room.id);
        want(await buyCall(srv, F.shopper.token, room.id, pit.id, 1), 404, 'not_found');
        assert.equal((await getItem(srv, room.id, pit.id, owner.token)).remaining, 3);
        for (const token of [owner.token, srv.operatorToken]) {
            assert.equal((await getRoom(srv, room.id, token)).id, room.id);
            assert.deepEqual((await listAll(srv, `/live/rooms?merchant_id=${pending.id}`, token)).map((r) => r.id), [room.id]);
        }
        // listing pages with a cursor, newest first
        const mine = [];
        for (let i = 0; i < 3; i++) mine.push((await createRoom(srv, owner.token, pending.id)).id);
        const all = await listAll(srv, `/live/rooms?merchant_id=${pending.id}`, owner.token, { limit: 1 });
        assert.deepEqual(all.map((r) => r.id), [...mine.reverse(), room.id]);
    });

    test('a suspended merchant\'s items cannot be bought (404)', async () => {
        want(await api(srv, 'POST', `/merchants/${F.otherShop.merchant.id}/suspend`, { token: srv.operatorToken }), 200);
        want(await buyCall(srv, F.shopper.token, F.otherRoom.id, F.otherItem.id, 1), 404, 'not_found');
        want(await api(srv, 'GET', `/live/rooms/${F.otherRoom.id}`), 404, 'not_found');
        assert.equal((await getRoom(srv, F.otherRoom.id, srv.operatorToken)).items[0].remaining, 5);
    });
});

test('one shopper firing 50 parallel buys against a limit of 2 gets exactly 2 orders', async () => {
    const shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 1000 }] });
    const room = await createRoom(srv, shop.owner.token, shop.merchant.id);
    const item = await addItem(srv, shop.owner.token, room.id, { sku_id: shop.skus[0].id, quantity: 100, per_user_limit: 2 });
    await startRoom(srv, shop.owner.token, room.id);
    const token = srv.shopperTokens[0];
    const res = await Promise.all(Array.from({ length: 50 }, (_, i) => buyCall(srv, token, room.id, item.id, 1, { idem: uniq(`b${i}`) })));
    const by = {};
    for (const r of res) by[`${r.status} ${r.json?.code ?? ''}`] = (by[`${r.status} ${r.json?.code ?? ''}`] ?? 0) + 1;
    assert.deepEqual(by, { '201 ': 2, '409 per_user_limit': 48 }, `answers: ${JSON.stringify(by)}`);
    const ids = res.filter((r) => r.status === 201).map((r) => r.json.order.id);
    assert.equal(new Set(ids).size, 2);
    const orders = await liveOrdersOf(srv, token, item.id);
    assert.deepEqual(orders.map((o) => o.id).sort(), ids.sort(), 'exactly those 2 orders exist');
    const it = await getItem(srv, room.id, item.id);
    assert.deepEqual([it.remaining, it.held, it.sold], [98, 2, 0]);
    assertInvariant(it);
});

test('50 shoppers × 4 parallel buys against 60 units, limit 2: exactly 60 units held, no one above 2', async () => {
    const shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 1000 }] });
    const room = await createRoom(srv, shop.owner.token, shop.merchant.id);
    const item = await addItem(srv, shop.owner.token, room.id, { sku_id: shop.skus[0].id, quantity: 60, per_user_limit: 2 });
    await startRoom(srv, shop.owner.token, room.id);
    const tokens = srv.shopperTokens.slice(10, 60);
    const calls = [];
    for (let k = 0; k < 4; k++) for (const t of tokens) calls.push(buyCall(srv, t, room.id, item.id, 1));
    const res = await Promise.all(calls);
    const ok = res.filter((r) => r.status === 201);
    for (const r of res) if (r.status !== 201) want(r, 409, r.json?.code === 'sold_out' ? 'sold_out' : 'per_user_limit');
    assert.equal(ok.length, 60, 'every unit sold once');
    const per = new Map();
    for (const r of ok) per.set(r.json.order.user_id, (per.get(r.json.order.user_id) ?? 0) + r.json.order.lines[0].qty);
    assert.ok([...per.values()].every((n) => n <= 2), 'no shopper above the limit');
    assert.ok(res.some((r) => r.json?.code === 'sold_out'), 'some buys were told sold_out');
    const it = await getItem(srv, room.id, item.id);
    assert.deepEqual([it.remaining, it.held, it.sold], [0, 60, 0]);
    assertInvariant(it);
    const orders = (await listAll(srv, `/orders?merchant_id=${shop.merchant.id}`, shop.owner.token)).filter((o) => o.live_item_id === item.id);
    assert.equal(orders.length, 60);
});

test('ending the room in the middle of a burst of buys: every unit is held, sold or back on the SKU', async () => {
    const shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 500 }] });
    const sku = shop.skus[0];
    const room = await createRoom(srv, shop.owner.token, shop.merchant.id);
    const item = await addItem(srv, shop.owner.token, room.id, { sku_id: sku.id, quantity: 300, per_user_limit: 10 });
    await startRoom(srv, shop.owner.token, room.id);
    const tokens = srv.shopperTokens.slice(0, 40);
    let ended = null;
    let n = 0;
    const res = await pool(Array.from({ length: 400 }, (_, i) => tokens[i % 40]), 40, async (t) => {
        n += 1;
        if (n === 120) ended = api(srv, 'POST', `/live/rooms/${room.id}/end`, { token: shop.owner.token });
        return buyCall(srv, t, room.id, item.id, 1);
    });
    want(await ended, 200);
    const codes = {};
    for (const r of res) {
        const k = r.status === 201 ? '201' : `${r.status} ${r.json?.code}`;
        codes[k] = (codes[k] ?? 0) + 1;
    }
    for (const k of Object.keys(codes)) {
        assert.ok(['201', '409 room_ended', '409 sold_out', '409 per_user_limit'].includes(k), `answers: ${JSON.stringify(codes)}`);
    }
    assert.ok(codes['409 room_ended'] > 0, `some buys were told room_ended: ${JSON.stringify(codes)}`);
    const it = await getItem(srv, room.id, item.id);
    assertInvariant(it, 'after the end');
    assert.equal(it.remaining, 0, 'nothing remains on sale after the end');
    assert.equal(it.held, codes['201'], `every acknowledged buy holds one unit (${JSON.stringify(codes)})`);
    const orders = await listAll(srv, `/orders?merchant_id=${shop.merchant.id}&status=pending_payment`, shop.owner.token);
    assert.equal(orders.filter((o) => o.live_item_id === item.id).length, codes['201']);
    const s = await getSku(srv, sku.id);
    assert.deepEqual([s.on_hand, s.reserved, s.available], [500, it.quantity - it.sold, 500 - it.quantity],
        'the SKU keeps exactly the held units aside');
});

test('an idempotent retry of a buy returns the same order; a different body with the key → 422', async () => {
    const shop = await makeShop(srv, { skus: [{ code: 'A', price: 1000, stock: 100 }] });
    const room = await createRoom(srv, shop.owner.token, shop.merchant.id);
    const item = await addItem(srv, shop.owner.token, room.id, { sku_id: shop.skus[0].id, quantity: 10, per_user_limit: 3 });
    await startRoom(srv, shop.owner.token, room.id);
    const [u, v] = await Promise.all([registerShopper(srv, 'idem'), registerShopper(srv, 'idem2')]);
    const key = uniq('buy');

    const first = await buyCall(srv, u.token, room.id, item.id, 1, { idem: key });
    want(first, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null, 'a first answer is not marked replayed');
    const retry = await buyCall(srv, u.token, room.id, item.id, 1, { idem: key });
    want(retry, 201);
    assert.equal(retry.json.order.id, first.json.order.id, 'same key → same order');
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    let it = await getItem(srv, room.id, item.id);
    assert.deepEqual([it.remaining, it.held], [9, 1], 'the retry took no unit');

    want(await buyCall(srv, u.token, room.id, item.id, 2, { idem: key }), 422, 'idempotency_key_reused');
    // another shopper's key space is their own
    const other = await buyLive(srv, v.token, room.id, item.id, 1, { idem: key });
    assert.notEqual(other.id, first.json.order.id);

    // parallel retries of one key: one order, whatever the timing
    const key2 = uniq('buy');
    const res = await Promise.all(Array.from({ length: 10 }, () => buyCall(srv, u.token, room.id, item.id, 1, { idem: key2 })));
    for (const r of res) want(r, [201, 409], r.status === 409 ? 'idempotency_in_progress' : undefined);
    const ids = new Set(res.filter((r) => r.status === 201).map((r) => r.json.order.id));
    assert.equal(ids.size, 1, `one order for one key, got ${[...ids]}`);
    it = await getItem(srv, room.id, item.id);
    assert.deepEqual([it.remaining, it.held], [7, 3]);
    assert.equal((await liveOrdersOf(srv, u.token, item.id)).length, 2);
    // the key of a refused buy (per_user_limit now: 2 held + 2 > 3) is not burnt
    const key3 = uniq('buy');
    want(await buyCall(srv, u.token, room.id, item.id, 2, { idem: key3 }), 409, 'per_user_limit');
    const o = await buyLive(srv, u.token, room.id, item.id, 1, { idem: key3 });
    assert.equal(o.status, 'pending_payment');
    assertInvariant(await getItem(srv, room.id, item.id));
});

// With --live-payment-window 2 (expiry sweeps at least once a second). The
// tests wait for expiries, so they run side by side.
describe('expiry, payment, cancellation and the end (--live-payment-window 2)', { concurrency: true }, () => {
    async function waitOrder(orderId, status, ms = 3500) {
        const deadline = Date.now() + ms;
        let o;
        while (Date.now() < deadline) {
            o = await getOrder(fast, orderId);
            if (o.status === status) return o;
            await sleep(100);
        }
        return o;
    }

    test('an unpaid live order expires: its units go back to the item and the shopper may buy again', async () => {
        const shop = await makeShop(fast, { skus: [{ code: 'A', price: 1000, stock: 50 }] });
        const room = await createRoom(fast, shop.owner.token, shop.merchant.id);
        const item = await addItem(fast, shop.owner.token, room.id, { sku_id: shop.skus[0].id, quantity: 5, per_user_limit: 2 });
        await startRoom(fast, shop.owner.token, room.id);
        const sku0 = await getSku(fast, shop.skus[0].id);
        const token = fast.shopperTokens[0];

        const t0 = Date.now();
        const o = await buyLive(fast, token, room.id, item.id, 2);
        const window = Date.parse(o.expires_at) - Date.parse(o.created_at);
        assert.ok(window >= 1000 && window <= 3000, `expires_at − created_at ≈ 2 s, got ${window} ms`);
        want(await buyCall(fast, token, room.id, item.id, 1), 409, 'per_user_limit');
        let it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.remaining, it.held, it.sold], [3, 2, 0]);

        await sleep(Math.max(0, 900 - (Date.now() - t0)));
        assert.equal((await getOrder(fast, o.id)).status, 'pending_payment', 'still payable before the window ends');

        const e = await waitOrder(o.id, 'expired', 3500 - (Date.now() - t0));
        assert.equal(e.status, 'expired', `not expired ${Date.now() - t0} ms after the buy`);
        it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.quantity, it.remaining, it.held, it.sold], [5, 5, 0, 0], 'the units went back to the item');
        assert.deepEqual(await getSku(fast, shop.skus[0].id), sku0, 'the SKU still sets the 5 units aside');
        want(await api(fast, 'POST', `/orders/${o.id}/pay`, { token, idem: uniq('p'), body: { method: 'sandbox' } }), 409,
            'invalid_transition');

        // the per-user count was released with the units
        const again = await buyLive(fast, token, room.id, item.id, 2);
        assert.equal(again.status, 'pending_payment');
        it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.remaining, it.held], [3, 2]);
        assertInvariant(it);
    });

    test('a paid live order does not expire; payment moves held → sold and on_hand down', async () => {
        const shop = await makeShop(fast, { skus: [{ code: 'A', price: 1000, stock: 50 }] });
        const room = await createRoom(fast, shop.owner.token, shop.merchant.id);
        const item = await addItem(fast, shop.owner.token, room.id, { sku_id: shop.skus[0].id, quantity: 10, per_user_limit: 5,
            live_price: 250 });
        await startRoom(fast, shop.owner.token, room.id);
        const s0 = await getSku(fast, shop.skus[0].id);
        const token = fast.shopperTokens[1];
        const o = await buyLive(fast, token, room.id, item.id, 3);
        const paid = await payOrder(fast, token, o.id);
        assert.equal(paid.status, 'paid');
        assert.equal(paid.subtotal, 750);
        const s1 = await getSku(fast, shop.skus[0].id);
        assert.deepEqual([s1.on_hand, s1.reserved, s1.available, s1.sold], [s0.on_hand - 3, s0.reserved - 3, s0.available, s0.sold + 3]);
        // a declined card leaves a second order pending
        const o2 = await buyLive(fast, token, room.id, item.id, 1);
        want(await api(fast, 'POST', `/orders/${o2.id}/pay`, { token, idem: uniq('p'), body: { method: 'sandbox', card: '4000000000000002' } }),
            402, 'payment_declined');
        let it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.remaining, it.held, it.sold], [6, 1, 3]);
        // someone else cannot pay it
        want(await api(fast, 'POST', `/orders/${o2.id}/pay`, { token: fast.shopperTokens[2], idem: uniq('p'), body: { method: 'sandbox' } }),
            404, 'not_found');
        await sleep(3200);
        assert.equal((await getOrder(fast, o.id)).status, 'paid');
        assert.equal((await getOrder(fast, o2.id)).status, 'expired');
        it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.quantity, it.remaining, it.held, it.sold], [10, 7, 0, 3]);
        const s2 = await getSku(fast, shop.skus[0].id);
        assert.deepEqual(s2, s1, 'expiry inside a live room does not touch the SKU');
        assert.equal(s2.reserved - (s0.reserved - 10), it.quantity - it.sold, 'SKU reservation = quantity − sold');
    });

    test('the end returns remaining units to the SKU; a later expiry returns its units to the SKU, not the item', async () => {
        const shop = await makeShop(fast, { skus: [{ code: 'A', price: 1000, stock: 50 }] });
        const sku = shop.skus[0];
        const room = await createRoom(fast, shop.owner.token, shop.merchant.id);
        const s0 = await getSku(fast, sku.id);
        const item = await addItem(fast, shop.owner.token, room.id, { sku_id: sku.id, quantity: 10, per_user_limit: 5 });
        await startRoom(fast, shop.owner.token, room.id);
        const [x, y] = [fast.shopperTokens[3], fast.shopperTokens[4]];
        const ox = await buyLive(fast, x, room.id, item.id, 3); // stays unpaid
        const oy = await buyLive(fast, y, room.id, item.id, 2);
        await payOrder(fast, y, oy.id);
        const s1 = await getSku(fast, sku.id);
        assert.deepEqual([s1.on_hand, s1.reserved, s1.available], [s0.on_hand - 2, s0.reserved + 8, s0.available - 10]);

        const ended = await endRoom(fast, shop.owner.token, room.id);
        let it = ended.items[0];
        assert.deepEqual([it.quantity, it.remaining, it.held, it.sold], [5, 0, 3, 2], 'end: quantity −= remaining (5)');
        const s2 = await getSku(fast, sku.id);
        assert.deepEqual([s2.on_hand, s2.reserved, s2.available], [s1.on_hand, s1.reserved - 5, s1.available + 5],
            'the 5 remaining units are available again');
        want(await buyCall(fast, fast.shopperTokens[5], room.id, item.id, 1), 409, 'room_ended');

        const e = await waitOrder(ox.id, 'expired', 3500);
        assert.equal(e.status, 'expired');
        it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.quantity, it.remaining, it.held, it.sold], [2, 0, 0, 2], 'the expired units left the item');
        const s3 = await getSku(fast, sku.id);
        assert.deepEqual([s3.on_hand, s3.reserved, s3.available], [s2.on_hand, s2.reserved - 3, s2.available + 3],
            'and went back to the SKU');
        assert.equal(s3.reserved, s0.reserved + it.quantity - it.sold, 'SKU reservation = quantity − sold');
        assert.equal(s3.available, s0.available - it.sold, 'everything unsold is available again');
    });

    test('cancelling a pending live order returns its units; cancelling a paid one refunds them to the SKU', async () => {
        const shop = await makeShop(fast, { skus: [{ code: 'A', price: 1000, stock: 50 }] });
        const sku = shop.skus[0];
        const room = await createRoom(fast, shop.owner.token, shop.merchant.id);
        const s0 = await getSku(fast, sku.id);
        const item = await addItem(fast, shop.owner.token, room.id, { sku_id: sku.id, quantity: 10, per_user_limit: 2 });
        await startRoom(fast, shop.owner.token, room.id);
        const t = fast.shopperTokens[6];
        const o1 = await buyLive(fast, t, room.id, item.id, 2);
        want(await api(fast, 'POST', `/orders/${o1.id}/cancel`, { token: t }), 200);
        let it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.quantity, it.remaining, it.held, it.sold], [10, 10, 0, 0]);
        const o2 = await buyLive(fast, t, room.id, item.id, 2); // the limit was released
        await payOrder(fast, t, o2.id);
        const r = want(await api(fast, 'POST', `/orders/${o2.id}/cancel`, { token: shop.owner.token }), 200);
        assert.equal(r.status, 'refunded');
        it = await getItem(fast, room.id, item.id);
        assert.deepEqual([it.quantity, it.remaining, it.held, it.sold], [8, 8, 0, 0], 'refund: sold −2, quantity −2');
        assertInvariant(it);
        const s1 = await getSku(fast, sku.id);
        assert.deepEqual([s1.on_hand, s1.reserved, s1.sold], [s0.on_hand, s0.reserved + 8, s0.sold], 'refunded units are back on hand');
        assert.equal(s1.available, s0.available - 8);
        // the refunded shopper may buy again
        await buyLive(fast, t, room.id, item.id, 2);
    });

    test('a sale opens at starts_at', async () => {
        const shop = await makeShop(fast, { skus: [{ code: 'A', price: 1000, stock: 50 }] });
        const room = await createRoom(fast, shop.owner.token, shop.merchant.id);
        const startsAt = Math.ceil((Date.now() + 2000) / 1000) * 1000;
        const item = await addItem(fast, shop.owner.token, room.id, { sku_id: shop.skus[0].id, quantity: 3, per_user_limit: 1,
            starts_at: rfc3339(startsAt) });
        assert.equal(Date.parse(item.starts_at), startsAt);
        await startRoom(fast, shop.owner.token, room.id);
        const t = fast.shopperTokens[7];
        want(await buyCall(fast, t, room.id, item.id, 1), 409, 'sale_not_started');
        await sleep(Math.max(0, startsAt - Date.now() + 150));
        await buyLive(fast, t, room.id, item.id, 1);
    });
});
