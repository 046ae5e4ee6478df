// Merchant live rooms: create a room, add flash-sale items, start, pin, end, and watch
// sales arrive on a live chart.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getAll, isMissingEndpoint, listItems, newIdempotencyKey, post, qs } from '../../lib/api.js';
import { formatMoney, formatTime, parseMoney, skuLabel, statusLabel } from '../../lib/format.js';
import { useLiveRoom, useSkuInfo } from '../../lib/live.js';
import { Link, navigate } from '../../lib/router.jsx';
import { toast } from '../../lib/store.js';
import { Chart } from '../../components/chart.jsx';
import { EyeIcon, PinIcon } from '../../components/icons.jsx';
import { Async, ConfirmButton, Empty, ErrorBox, Field, Page, Select, StatusChip, useAction, useApi } from '../../components/ui.jsx';

const ROOMS_KEY = (mid) => `souk.rooms.${mid}`;
function rememberRoom(mid, room) {
    try {
        const list = JSON.parse(localStorage.getItem(ROOMS_KEY(mid)) || '[]').filter((r) => String(r.id) !== String(room.id));
        list.unshift({ id: room.id, title: room.title, created_at: room.created_at });
        localStorage.setItem(ROOMS_KEY(mid), JSON.stringify(list.slice(0, 50)));
    } catch {
        /* only a convenience for servers without a room list */
    }
}
function rememberedRooms(mid) {
    try {
        return JSON.parse(localStorage.getItem(ROOMS_KEY(mid)) || '[]');
    } catch {
        return [];
    }
}

/** datetime-local value ("2025-06-01T20:00") → RFC 3339 UTC, or undefined. */
function localToIso(v) {
    if (!v) return undefined;
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function LiveRooms({ merchant }) {
    const state = useApi(`/live/rooms${qs({ merchant_id: merchant.id, limit: 50 })}`);
    const [f, setF] = useState({ title: '', scheduled_at: '' });
    const [key, setKey] = useState(newIdempotencyKey);
    const [run, { busy, error }] = useAction();
    const fromServer = listItems(state.data).filter((r) => !r.merchant_id || String(r.merchant_id) === String(merchant.id));
    const known = new Set(fromServer.map((r) => String(r.id)));
    const rooms = [...fromServer, ...rememberedRooms(merchant.id).filter((r) => !known.has(String(r.id)))];
    const create = (e) => {
        e.preventDefault();
        run(async () => {
            const body = { merchant_id: merchant.id, title: f.title.trim() };
            const at = localToIso(f.scheduled_at);
            if (at) body.scheduled_at = at;
            const room = await post('/live/rooms', body, { idempotencyKey: key });
            setKey(newIdempotencyKey());
            rememberRoom(merchant.id, { ...room, title: room.title || body.title });
            toast('Live room created', 'ok');
            navigate(`/merchant/${merchant.id}/live/${room.id}`);
        });
    };
    return (
        <Page title="Live rooms · 直播">
            <div class="two-col">
                <form class="form card" onSubmit={create} aria-label="Create a live room">
                    <h2>New live room</h2>
                    <Field label="Room title" required value={f.title} onInput={(v) => setF({ ...f, title: v })} error={error && error.fieldMessage('title')} />
                    <Field
                        label="Scheduled start (optional)"
                        type="datetime-local"
                        value={f.scheduled_at}
                        onInput={(v) => setF({ ...f, scheduled_at: v })}
                        error={error && error.fieldMessage('scheduled_at')}
                    />
                    {isMissingEndpoint(error) ? (
                        <p class="notice" role="alert">
                            Live rooms are not available on this souk server yet.
                        </p>
                    ) : (
                        <ErrorBox error={error} />
                    )}
                    <button class="btn btn-primary" type="submit" disabled={busy}>
                        {busy ? 'Creating…' : 'Create room'}
                    </button>
                </form>
                <section aria-labelledby="h-rooms">
                    <h2 id="h-rooms">Your rooms</h2>
                    {state.error && !isMissingEndpoint(state.error) && <ErrorBox error={state.error} onRetry={state.reload} />}
                    {rooms.length === 0 ? (
                        <Empty title="No live rooms yet" />
                    ) : (
                        <ul class="room-list">
                            {rooms.map((r) => (
                                <li class="card" key={r.id}>
                                    <Link href={`/merchant/${merchant.id}/live/${r.id}`}>{r.title || `Room ${r.id}`}</Link>
                                    {r.status && (
                                        <>
                                            {' '}
                                            <StatusChip status={r.status} />
                                        </>
                                    )}
                                    {r.scheduled_at && <p class="muted">{formatTime(r.scheduled_at)}</p>}
                                </li>
                            ))}
                        </ul>
                    )}
                </section>
            </div>
        </Page>
    );
}

function ItemName({ item }) {
    const info = useSkuInfo(item.sku_id);
    const title = item.title || (info && info.product && info.product.title) || `SKU ${item.sku_id}`;
    return (
        <span>
            {title}
            {info && info.sku && <span class="muted"> · {skuLabel(info.sku)}</span>}
        </span>
    );
}

function AddItemForm({ merchant, roomId, onAdded }) {
    const [skus, setSkus] = useState(null);
    const [loadErr, setLoadErr] = useState(null);
    useEffect(() => {
        getAll(`/products?merchant_id=${merchant.id}`, 500).then(
            (ps) => setSkus(ps.filter((p) => p.status !== 'archived').flatMap((p) => (p.skus || []).map((s) => ({ ...s, _title: p.title })))),
            setLoadErr,
        );
    }, [merchant.id]);
    const [f, setF] = useState({ sku_id: '', live_price: '', quantity: '10', per_user_limit: '1', starts_at: '' });
    const [run, { busy, error, setError }] = useAction();
    useEffect(() => {
        if (skus && skus.length && !f.sku_id) setF((x) => ({ ...x, sku_id: String(skus[0].id) }));
    }, [skus]);
    const sku = (skus || []).find((s) => String(s.id) === f.sku_id);
    const set = (k) => (v) => setF({ ...f, [k]: v });
    const submit = (e) => {
        e.preventDefault();
        const price = parseMoney(f.live_price, sku ? sku.currency : 'CNY');
        if (price === null) {
            setError(new ApiError(422, { title: 'Please check the form', errors: [{ field: 'live_price', message: 'Enter a price like 9.90.' }] }));
            return;
        }
        run(async () => {
            const body = {
                sku_id: f.sku_id,
                live_price: price,
                quantity: Math.floor(Number(f.quantity) || 0),
                per_user_limit: Math.floor(Number(f.per_user_limit) || 0),
            };
            const at = localToIso(f.starts_at);
            if (at) body.starts_at = at;
            await post(`/live/rooms/${roomId}/items`, body, { idempotencyKey: newIdempotencyKey() });
            toast('Item added to the room', 'ok');
            setF({ ...f, live_price: '', starts_at: '' });
            onAdded();
        });
    };
    if (loadErr) return <ErrorBox error={loadErr} />;
    if (skus && !skus.length)
        return (
            <Empty title="List a product first">
                <Link href={`/merchant/${merchant.id}/products/new`}>New product</Link>
            </Empty>
        );
    return (
        <form class="form" onSubmit={submit} aria-label="Add an item to the room">
            <Select
                label="SKU"
                value={f.sku_id}
                onChange={set('sku_id')}
                options={(skus || []).map((s) => [String(s.id), `${s._title} · ${skuLabel(s)} (${s.available ?? '?'} available)`])}
                error={error && error.fieldMessage('sku_id')}
            />
            <div class="field-row">
                <Field
                    label="Live price"
                    inputMode="decimal"
                    required
                    value={f.live_price}
                    onInput={set('live_price')}
                    hint={sku ? `Regular price ${formatMoney(sku.price, sku.currency)}` : ''}
                    error={error && error.fieldMessage('live_price')}
                />
                <Field label="Quantity for the sale" type="number" min="1" step="1" required value={f.quantity} onInput={set('quantity')} error={error && error.fieldMessage('quantity')} />
                <Field label="Limit per shopper" type="number" min="1" step="1" required value={f.per_user_limit} onInput={set('per_user_limit')} error={error && error.fieldMessage('per_user_limit')} />
            </div>
            <Field label="Sale starts (optional)" type="datetime-local" value={f.starts_at} onInput={set('starts_at')} hint="Empty: on sale as soon as the room is live." error={error && error.fieldMessage('starts_at')} />
            <ErrorBox error={error} />
            <button class="btn btn-primary" type="submit" disabled={busy || !f.sku_id}>
                {busy ? 'Adding…' : 'Add item'}
            </button>
        </form>
    );
}

export function LiveControl({ merchant, params }) {
    const [orders, setOrders] = useState([]);
    const live = useLiveRoom(params.rid, {
        onOrder: (o) => setOrders((x) => [{ ...o, at: Date.now() }, ...x].slice(0, 20)),
    });
    const { room, items, viewers, status, pinned, sales } = live;
    const [run, { busy, error }] = useAction();
    useEffect(() => {
        if (room) rememberRoom(merchant.id, room);
    }, [room && room.id]);
    const act = (path, body, msg) =>
        run(async () => {
            await post(`/live/rooms/${params.rid}/${path}`, body);
            toast(msg, 'ok');
            live.refresh();
        });
    if (live.error && !room)
        return (
            <Page title="Live room">
                <ErrorBox error={live.error} onRetry={live.reload} />
            </Page>
        );
    if (!room) return <Page title="Live room">{null}</Page>;
    const sold = items.reduce((a, i) => a + (Number(i.sold) || 0), 0);
    const revenue = items.reduce((a, i) => a + (Number(i.sold) || 0) * (Number(i.live_price) || 0), 0);
    const labels = sales.map((s) => new Date(s.t).toLocaleTimeString());
    return (
        <Page
            title={room.title || `Live room ${room.id}`}
            actions={
                <Link class="btn" href={`/live/${room.id}`} target="_blank">
                    Open shopper view
                </Link>
            }
        >
            <div class="live-head">
                <StatusChip status={status} />
                <span>
                    <EyeIcon /> 
                    <strong>{viewers ?? '—'}</strong> watching
                </span>
                <span>
                    <strong>{sold}</strong> units sold
                </span>
                {room.scheduled_at && <span class="muted">Scheduled {formatTime(room.scheduled_at)}</span>}
            </div>
            <ErrorBox error={error} />
            <div class="actions">
                {status === 'scheduled' && (
                    <button type="button" class="btn btn-primary" disabled={busy} onClick={() => act('start', {}, 'You are live!')}>
                        Start live
                    </button>
                )}
                {status === 'live' && <ConfirmButton label="End live" confirmLabel="Confirm: end live" disabled={busy} onConfirm={() => act('end', {}, 'Live ended')} />}
            </div>
            <div class="two-col">
                <section aria-labelledby="h-items">
                    <h2 id="h-items">Items on sale</h2>
                    {items.length === 0 ? (
                        <Empty title="No items yet" />
                    ) : (
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr>
                                        <th scope="col">Item</th>
                                        <th scope="col">Live price</th>
                                        <th scope="col">Left</th>
                                        <th scope="col">Sold</th>
                                        <th scope="col">Limit</th>
                                        <th scope="col">On screen</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {items.map((it) => {
                                        const isPinned = String(it.id) === String(pinned);
                                        return (
                                            <tr key={it.id} class={isPinned ? 'current' : ''}>
                                                <td>
                                                    <ItemName item={it} />
                                                    {it.starts_at && <div class="muted">from {formatTime(it.starts_at)}</div>}
                                                </td>
                                                <td>{formatMoney(it.live_price, it.currency || 'CNY')}</td>
                                                <td>
                                                    {it.remaining ?? it.quantity} / {it.quantity}
                                                </td>
                                                <td>{it.sold ?? 0}</td>
                                                <td>{it.per_user_limit}</td>
                                                <td>
                                                    {isPinned ? (
                                                        <span>
                                                            <PinIcon /> Pinned
                                                        </span>
                                                    ) : (
                                                        <button type="button" class="btn btn-small" disabled={busy || status === 'ended'} onClick={() => act('pin', { item_id: it.id }, 'Item pinned')}>
                                                            Pin <span class="sr-only">item {it.id}</span>
                                                        </button>
                                                    )}
                                                </td>
                                            </tr>
                                        );
                                    })}
                                </tbody>
                            </table>
                        </div>
                    )}
                    {status !== 'ended' && (
                        <details class="card" open={items.length === 0}>
                            <summary>Add an item</summary>
                            <AddItemForm merchant={merchant} roomId={room.id} onAdded={live.refresh} />
                        </details>
                    )}
                </section>
                <section aria-labelledby="h-sales">
                    <h2 id="h-sales">Live sales</h2>
                    <p>
                        Revenue so far <strong>{formatMoney(revenue, (items[0] && items[0].currency) || 'CNY')}</strong>
                    </p>
                    {sales.length > 0 ? (
                        <Chart title="Units sold in this room" labels={labels} series={[{ label: 'Units sold', data: sales.map((s) => s.sold), stepped: true }]} animate={false} height={200} />
                    ) : (
                        <Empty title="Sales will chart here as they happen" />
                    )}
                    <h3>Latest orders</h3>
                    {orders.length === 0 ? (
                        <p class="muted">No orders yet in this session.</p>
                    ) : (
                        <ul class="plain" aria-live="polite">
                            {orders.map((o, i) => (
                                <li key={i}>
                                    {new Date(o.at).toLocaleTimeString()} · {o.buyer || 'a shopper'} × {o.qty}
                                </li>
                            ))}
                        </ul>
                    )}
                    {live.connection === 'unavailable' && <p class="hint">The live event stream is not available on this server; figures refresh every few seconds.</p>}
                    <p class="muted">Room status: {statusLabel(status)}</p>
                </section>
            </div>
        </Page>
    );
}
