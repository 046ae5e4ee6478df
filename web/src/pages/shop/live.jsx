// Live rooms for shoppers: the list, and one room with its pinned product, a countdown to the
// sale, a buy button, stock left and viewers updating live, and toasts for others' orders.
import { useEffect, useState } from 'preact/hooks';
import { getToken, toast } from '../../lib/store.js';
import { listItems, newIdempotencyKey, post } from '../../lib/api.js';
import { formatCountdown, formatMoney, formatTime, skuLabel, statusLabel } from '../../lib/format.js';
import { useLiveRoom, useSkuInfo } from '../../lib/live.js';
import { Link, navigate, useLocation } from '../../lib/router.jsx';
import { Async, Empty, ErrorBox, Loading, MerchantName, Page, ProductArt, Select, useAction, useApi } from '../../components/ui.jsx';
import { useNow } from './cart.jsx';
import { EyeIcon, PinIcon } from '../../components/icons.jsx';

export function LiveList() {
    const state = useApi('/live/rooms?limit=50');
    const rooms = listItems(state.data);
    return (
        <Page title="Live rooms · 直播间">
            <Async
                state={state}
                missing={<Empty title="No live rooms right now">When merchants go live, their rooms appear here.</Empty>}
                empty={<Empty title="No live rooms right now">When merchants go live, their rooms appear here.</Empty>}
            >
                <ul class="room-list">
                    {rooms.map((r) => (
                        <li key={r.id} class="card">
                            <Link href={`/live/${r.id}`}>
                                <span class={`live-dot ${r.status}`} aria-hidden="true" /> {r.title || `Room ${r.id}`}
                            </Link>
                            <p class="muted">
                                {statusLabel(r.status)}
                                {r.scheduled_at && r.status === 'scheduled' ? ` · starts ${formatTime(r.scheduled_at)}` : ''}
                            </p>
                        </li>
                    ))}
                </ul>
            </Async>
        </Page>
    );
}

function StockBar({ item }) {
    const q = Number(item.quantity) || 0;
    const left = Number(item.remaining ?? q);
    const pct = q ? Math.round((left / q) * 100) : 0;
    return (
        <div class="stock">
            <div class="stock-text">
                <span>
                    Stock left <strong class="stock-left" data-testid="stock-left">{left}</strong> / {q}
                </span>
                <span class="muted">{Number(item.sold) || 0} sold</span>
            </div>
            <div class="bar" role="progressbar" aria-label="Stock left" aria-valuemin={0} aria-valuemax={q} aria-valuenow={left}>
                <span style={{ width: `${pct}%` }} />
            </div>
        </div>
    );
}

function BuyBox({ roomId, item, status, now }) {
    const loc = useLocation();
    const info = useSkuInfo(item.sku_id);
    const limit = Math.max(1, Number(item.per_user_limit) || 1);
    const left = Number(item.remaining ?? item.quantity) || 0;
    const [qty, setQty] = useState('1');
    const [order, setOrder] = useState(null);
    const [paid, setPaid] = useState(false);
    const [run, { busy, error }] = useAction();
    const startsAt = item.starts_at ? new Date(item.starts_at).getTime() : null;
    const notStarted = startsAt && startsAt > now;
    const currency = (info && info.sku && info.sku.currency) || item.currency || 'CNY';
    const title = item.title || (info && info.product && info.product.title) || `Item ${item.id}`;
    const listPrice = item.list_price ?? (info && info.sku ? info.sku.price : null);

    let reason = '';
    if (status !== 'live') reason = status === 'ended' ? 'The live sale has ended.' : 'The sale opens when the room goes live.';
    else if (notStarted) reason = 'Buying opens when the countdown ends.';
    else if (left <= 0) reason = 'Sold out · 已抢光';

    const buy = (e) => {
        e.preventDefault();
        if (!getToken()) {
            navigate(`/signin?next=${encodeURIComponent(loc.path)}`);
            return;
        }
        run(async () => {
            const r = await post(`/live/rooms/${roomId}/items/${item.id}/buy`, { qty: Number(qty) }, { idempotencyKey: newIdempotencyKey() });
            setOrder(r.order || r);
            setPaid(false);
            toast('Got it! Pay now to keep it.', 'ok');
        });
    };
    const pay = () =>
        run(async () => {
            await post(`/orders/${order.id}/pay`, { method: 'sandbox' }, { idempotencyKey: newIdempotencyKey() });
            setPaid(true);
            toast('Paid. Your order is on its way to the merchant.', 'ok');
        });
    // The buy form is replaced by the pay card: move keyboard focus to its button.
    useEffect(() => {
        if (order && !paid) document.getElementById(`pay-${item.id}`)?.focus();
    }, [order, paid]);
    const payLeft = order && order.expires_at ? new Date(order.expires_at).getTime() - now : null;

    return (
        <div class="buy-box">
            <div class="live-product">
                <ProductArt product={{ id: item.product_id || (info && info.product && info.product.id) || item.sku_id, title }} size="md" />
                <div>
                    <h2 class="h3">{title}</h2>
                    {info && info.sku && <p class="muted">{skuLabel(info.sku)}</p>}
                    <p class="price-big">
                        {formatMoney(item.live_price, currency)}
                        {listPrice > item.live_price && (
                            <s class="muted">
                                <span class="sr-only">was </span>
                                {formatMoney(listPrice, currency)}
                            </s>
                        )}
                    </p>
                    <p class="muted">Limit {limit} per person</p>
                </div>
            </div>
            <StockBar item={item} />
            {notStarted && (
                <p class="countdown" role="timer">
                    Sale starts in <strong>{formatCountdown(startsAt - now)}</strong>
                </p>
            )}
            {order && !paid ? (
                <div class="card pay-card" role="status">
                    <p>
                        Order {order.id} is reserved for you: <strong>{formatMoney(order.subtotal, order.currency || currency)}</strong>
                    </p>
                    {payLeft !== null && <p>Pay within {formatCountdown(payLeft)}</p>}
                    <button type="button" id={`pay-${item.id}`} class="btn btn-primary btn-block" onClick={pay} disabled={busy || (payLeft !== null && payLeft <= 0)}>
                        {busy ? 'Paying…' : 'Pay now (sandbox)'}
                    </button>
                </div>
            ) : (
                <form class="buy-row" onSubmit={buy}>
                    <Select
                        label="Quantity"
                        value={qty}
                        onChange={setQty}
                        options={Array.from({ length: Math.max(1, Math.min(limit, left || 1)) }, (_, i) => [String(i + 1), String(i + 1)])}
                        class="qty-field"
                    />
                    <button class="btn btn-primary btn-buy" type="submit" disabled={busy || !!reason} aria-describedby={reason ? `why-${item.id}` : undefined}>
                        {busy ? 'Buying…' : 'Buy now · 立即抢购'}
                    </button>
                    {reason && (
                        <p class="hint" id={`why-${item.id}`}>
                            {reason}
                        </p>
                    )}
                </form>
            )}
            {paid && (
                <p class="ok-text" role="status">
                    Paid ✓ <Link href={`/orders/${order.id}`}>See your order</Link>
                </p>
            )}
            <ErrorBox error={error} />
        </div>
    );
}

export function LiveRoom({ params }) {
    const now = useNow(1000);
    const live = useLiveRoom(params.id, {
        onOrder: (o) => toast(`${o.buyer || 'Someone'} just bought ${o.qty || 1}`, 'info', 3000),
    });
    const { room, items, viewers, status, pinned } = live;
    if (live.error && !room)
        return (
            <Page title="Live room">
                {live.error.status === 404 ? <Empty title="This live room does not exist or has not opened" /> : <ErrorBox error={live.error} onRetry={live.reload} />}
            </Page>
        );
    if (!room)
        return (
            <Page title="Live room">
                <Loading />
            </Page>
        );
    const pinnedItem = items.find((i) => String(i.id) === pinned) || items[0];
    const scheduled = room.scheduled_at ? new Date(room.scheduled_at).getTime() : null;
    const others = items.filter((i) => i !== pinnedItem);
    return (
        <Page title={room.title || `Live room ${room.id}`}>
            <div class="live-head">
                <span class={`live-badge ${status}`}>{status === 'live' ? '● LIVE' : statusLabel(status)}</span>
                <span class="viewers" aria-live="off">
                    <EyeIcon /> 
                    <strong data-testid="viewers">{viewers ?? '—'}</strong> watching
                </span>
                {room.merchant_id && <MerchantName id={room.merchant_id} badge />}
                {live.connection === 'retrying' && <span class="muted"> · reconnecting…</span>}
            </div>
            {status === 'scheduled' && scheduled && scheduled > now && (
                <p class="countdown" role="timer">
                    Goes live in <strong>{formatCountdown(scheduled - now)}</strong>
                </p>
            )}
            {!pinnedItem ? (
                <Empty title="The host has not put anything on sale yet">Stay here: items show up as soon as they are added.</Empty>
            ) : (
                <section aria-label="Pinned product" class="card pinned">
                    <p class="pin-label">
                        <PinIcon /> On screen now
                    </p>
                    <BuyBox key={pinnedItem.id} roomId={room.id} item={pinnedItem} status={status} now={now} />
                </section>
            )}
            {others.length > 0 && (
                <section aria-labelledby="h-more">
                    <h2 id="h-more">More in this room</h2>
                    <div class="live-items">
                        {others.map((it) => (
                            <div class="card" key={it.id}>
                                <BuyBox roomId={room.id} item={it} status={status} now={now} />
                            </div>
                        ))}
                    </div>
                </section>
            )}
        </Page>
    );
}
