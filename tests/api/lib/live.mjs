// Fixtures for the live-room tests (API.md "Live rooms and flash sales").
import assert from 'node:assert/strict';
import { api, want, uniq } from './harness.mjs';

/** POST /live/rooms as `token` (merchant staff); returns the room. */
export async function createRoom(server, token, merchantId, fields = {}) {
    return want(await api(server, 'POST', '/live/rooms', {
        token, body: { merchant_id: merchantId, title: uniq('Room'), ...fields },
    }), 201);
}

/** POST /live/rooms/{id}/items; returns the item. */
export async function addItem(server, token, roomId, { sku_id, live_price = 500, quantity = 10, per_user_limit = 5, ...rest }) {
    return want(await api(server, 'POST', `/live/rooms/${roomId}/items`, {
        token, body: { sku_id, live_price, quantity, per_user_limit, ...rest },
    }), 201);
}

export async function startRoom(server, token, roomId) {
    return want(await api(server, 'POST', `/live/rooms/${roomId}/start`, { token }), 200);
}

export async function endRoom(server, token, roomId) {
    return want(await api(server, 'POST', `/live/rooms/${roomId}/end`, { token }), 200);
}

export async function getRoom(server, roomId, token) {
    return want(await api(server, 'GET', `/live/rooms/${roomId}`, { token }), 200);
}

/** The room's item `itemId` as GET /live/rooms/{id} shows it. */
export async function getItem(server, roomId, itemId, token) {
    const room = await getRoom(server, roomId, token);
    const it = room.items.find((x) => x.id === itemId);
    assert.ok(it, `room ${roomId} has no item ${itemId}: ${JSON.stringify(room.items)}`);
    return it;
}

/** The raw buy call (no status check). */
export function buyCall(server, token, roomId, itemId, qty = 1, opts = {}) {
    return api(server, 'POST', `/live/rooms/${roomId}/items/${itemId}/buy`, { token, body: { qty }, ...opts });
}

/** A buy that must succeed; returns the order. */
export async function buyLive(server, token, roomId, itemId, qty = 1, opts = {}) {
    return want(await buyCall(server, token, roomId, itemId, qty, opts), 201).order;
}

export async function payOrder(server, token, orderId, { idem = uniq('pay'), card } = {}) {
    const body = { method: 'sandbox' };
    if (card) body.card = card;
    return want(await api(server, 'POST', `/orders/${orderId}/pay`, { token, idem, body }), 200);
}

/** Asserts remaining + held + sold = quantity with all four ≥ 0. */
export function assertInvariant(it, label = '') {
    const { quantity, remaining, held, sold } = it;
    for (const [k, v] of Object.entries({ quantity, remaining, held, sold })) {
        assert.ok(Number.isInteger(v) && v >= 0, `${label} item ${it.id}: ${k} = ${v}`);
    }
    assert.equal(remaining + held + sold, quantity,
        `${label} item ${it.id}: remaining ${remaining} + held ${held} + sold ${sold} ≠ quantity ${quantity}`);
}
