// Cart (grouped by merchant), checkout with a shipping address, and the sandbox payment.
import { useEffect, useState } from 'preact/hooks';
import { del, listItems, newIdempotencyKey, patch, post } from '../../lib/api.js';
import { refreshCart } from '../../lib/auth.js';
import { formatCountdown, formatMoney } from '../../lib/format.js';
import { Link, navigate } from '../../lib/router.jsx';
import { toast } from '../../lib/store.js';
import { Async, Empty, ErrorBox, Field, Loading, MerchantName, Page, StatusChip, useAction, useApi } from '../../components/ui.jsx';

function groupByMerchant(items) {
    const groups = new Map();
    for (const it of items) {
        const k = String(it.merchant_id ?? '');
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k).push(it);
    }
    return [...groups.entries()];
}

function CartLine({ item, onChange }) {
    const [qty, setQty] = useState(String(item.qty));
    const [run, { busy, error }] = useAction();
    useEffect(() => setQty(String(item.qty)), [item.qty]);
    const save = (e) => {
        e.preventDefault();
        run(async () => {
            const cart = await patch(`/cart/items/${item.sku_id}`, { qty: Math.floor(Number(qty) || 0) });
            onChange(cart);
        });
    };
    const remove = () =>
        run(async () => {
            const cart = await del(`/cart/items/${item.sku_id}`);
            onChange(cart);
        });
    const name = item.title || `SKU ${item.sku_id}`;
    return (
        <li class="cart-line">
            <div class="cart-line-main">
                <Link href={`/product/${item.product_id}`}>{name}</Link>
                {item.code && <span class="muted"> · {item.code}</span>}
                <div class="muted">{formatMoney(item.unit_price, item.currency)} each</div>
            </div>
            <form class="cart-qty" onSubmit={save}>
                <Field label={`Quantity of ${name}`} type="number" min="0" step="1" value={qty} onInput={setQty} class="qty-field label-hidden" />
                <button class="btn btn-small" type="submit" disabled={busy || String(item.qty) === qty}>
                    Update
                </button>
                <button class="btn btn-small btn-link" type="button" onClick={remove} disabled={busy} aria-label={`Remove ${name}`}>
                    Remove
                </button>
            </form>
            <div class="cart-line-total">{formatMoney(item.line_total ?? item.unit_price * item.qty, item.currency)}</div>
            {error && <ErrorBox error={error} />}
        </li>
    );
}

export function Cart() {
    const state = useApi('/cart');
    const [cart, setCart] = useState(null);
    useEffect(() => setCart(state.data), [state.data]);
    const items = listItems(cart);
    const onChange = (c) => {
        setCart(c);
        refreshCart();
    };
    const totals = (cart && cart.totals) || {};
    return (
        <Page title="Your cart · 购物车">
            <Async state={state}>
                {items.length === 0 ? (
                    <Empty title="Your cart is empty">
                        <Link href="/">Find something you like</Link>
                    </Empty>
                ) : (
                    <>
                        {groupByMerchant(items).map(([mid, lines]) => (
                            <section class="card merchant-group" key={mid} aria-label="Items from one merchant">
                                <h2 class="h3">
                                    <MerchantName id={mid} badge />
                                </h2>
                                <ul class="cart-lines">
                                    {lines.map((it) => (
                                        <CartLine key={it.sku_id} item={it} onChange={onChange} />
                                    ))}
                                </ul>
                            </section>
                        ))}
                        <div class="summary card">
                            <p>
                                {totals.qty ?? items.reduce((a, b) => a + b.qty, 0)} items ·{' '}
                                <strong>{totals.subtotal != null ? formatMoney(totals.subtotal, totals.currency) : 'Mixed currencies'}</strong>
                            </p>
                            {totals.subtotal == null && (
                                <p class="hint">Items priced in different currencies cannot be paid in one checkout; remove some first.</p>
                            )}
                            <Link class="btn btn-primary" href="/checkout">
                                Checkout
                            </Link>
                        </div>
                    </>
                )}
            </Async>
        </Page>
    );
}

const ADDRESS_KEY = 'souk.address';
const EMPTY_ADDRESS = { name: '', phone: '', line1: '', city: '', region: '', postal_code: '', country: 'CN' };

export function Checkout() {
    const state = useApi('/cart');
    const [addr, setAddr] = useState(() => {
        try {
            return { ...EMPTY_ADDRESS, ...JSON.parse(localStorage.getItem(ADDRESS_KEY) || '{}') };
        } catch {
            return EMPTY_ADDRESS;
        }
    });
    const [key] = useState(newIdempotencyKey);
    const [run, { busy, error }] = useAction();
    const set = (k) => (v) => setAddr({ ...addr, [k]: v });
    const fe = (k) => error && error.fieldMessage(`shipping_address.${k}`);
    const items = listItems(state.data);
    const skuNames = Object.fromEntries(items.map((i) => [String(i.sku_id), i.title]));
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            const a = { ...addr, country: addr.country.trim().toUpperCase() };
            for (const k of ['region', 'postal_code']) if (!a[k]) delete a[k];
            const co = await post('/checkout', { shipping_address: a }, { idempotencyKey: key });
            try {
                localStorage.setItem(ADDRESS_KEY, JSON.stringify(addr));
            } catch {
                /* remembering the address is a convenience */
            }
            refreshCart();
            navigate(`/pay/${co.id}`, { replace: true });
        });
    };
    const totals = (state.data && state.data.totals) || {};
    return (
        <Page title="Checkout · 结算">
            <Async state={state}>
                {items.length === 0 ? (
                    <Empty title="Your cart is empty">
                        <Link href="/">Keep shopping</Link>
                    </Empty>
                ) : (
                    <div class="two-col">
                        <form class="form" onSubmit={submit} aria-label="Shipping address">
                            <h2>Shipping address</h2>
                            <Field label="Recipient name" autoComplete="name" required value={addr.name} onInput={set('name')} error={fe('name')} />
                            <Field label="Phone" type="tel" autoComplete="tel" required value={addr.phone} onInput={set('phone')} error={fe('phone')} />
                            <Field label="Address" autoComplete="address-line1" required value={addr.line1} onInput={set('line1')} error={fe('line1')} />
                            <div class="field-row">
                                <Field label="City" autoComplete="address-level2" required value={addr.city} onInput={set('city')} error={fe('city')} />
                                <Field label="Region (optional)" autoComplete="address-level1" value={addr.region} onInput={set('region')} error={fe('region')} />
                            </div>
                            <div class="field-row">
                                <Field label="Postal code (optional)" autoComplete="postal-code" value={addr.postal_code} onInput={set('postal_code')} error={fe('postal_code')} />
                                <Field
                                    label="Country code"
                                    autoComplete="country"
                                    required
                                    maxLength={2}
                                    hint="Two letters, e.g. CN, US"
                                    value={addr.country}
                                    onInput={set('country')}
                                    error={fe('country')}
                                />
                            </div>
                            <ErrorBox error={error} skuNames={skuNames} />
                            <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
                                {busy ? 'Placing order…' : 'Place order'}
                            </button>
                            <p class="hint">Stock is held for you while you pay.</p>
                        </form>
                        <aside class="card" aria-label="Order summary">
                            <h2>Summary</h2>
                            {groupByMerchant(items).map(([mid, lines]) => (
                                <div key={mid} class="summary-group">
                                    <p>
                                        <MerchantName id={mid} />
                                    </p>
                                    <ul class="plain">
                                        {lines.map((l) => (
                                            <li key={l.sku_id}>
                                                {l.qty} × {l.title || `SKU ${l.sku_id}`} — {formatMoney(l.line_total, l.currency)}
                                            </li>
                                        ))}
                                    </ul>
                                </div>
                            ))}
                            <p class="total">
                                Total <strong>{totals.subtotal != null ? formatMoney(totals.subtotal, totals.currency) : '—'}</strong>
                            </p>
                        </aside>
                    </div>
                )}
            </Async>
        </Page>
    );
}

function useNow(ms = 1000) {
    const [now, setNow] = useState(Date.now());
    useEffect(() => {
        const t = setInterval(() => setNow(Date.now()), ms);
        return () => clearInterval(t);
    }, [ms]);
    return now;
}

export function Pay({ params }) {
    const state = useApi(`/checkout/${encodeURIComponent(params.id)}`);
    const co = state.data;
    const [card, setCard] = useState('');
    const [key, setKey] = useState(newIdempotencyKey);
    const [run, { busy, error }] = useAction();
    const now = useNow();
    const pay = (e) => {
        e.preventDefault();
        run(async () => {
            const body = { method: 'sandbox' };
            if (card.trim()) body.card = card.replace(/\s+/g, '');
            try {
                await post(`/checkout/${co.id}/pay`, body, { idempotencyKey: key });
            } catch (err) {
                // A decline is an answer, not a lost request: the next try is a new payment.
                setKey(newIdempotencyKey());
                throw err;
            }
            toast('Payment received. Thank you!', 'ok');
            state.reload();
        });
    };
    const left = co && co.expires_at ? new Date(co.expires_at).getTime() - now : null;
    const payable = co && co.status === 'pending_payment' && (left === null || left > 0);
    return (
        <Page title={co && co.status === 'paid' ? 'Paid · 支付成功' : 'Payment · 支付'}>
            <Async state={state}>
                {co && (
                    <div class="two-col">
                        <div>
                            <p>
                                Checkout {co.id} · <StatusChip status={co.status} />
                            </p>
                            {(co.orders || []).map((o) => (
                                <div key={o.id} class="card">
                                    <p>
                                        <MerchantName id={o.merchant_id} badge /> · <Link href={`/orders/${o.id}`}>Order {o.id}</Link> · <StatusChip status={o.status} />
                                    </p>
                                    <ul class="plain">
                                        {(o.lines || []).map((l) => (
                                            <li key={l.sku_id}>
                                                {l.qty} × {l.title || `SKU ${l.sku_id}`} — {formatMoney(l.line_total ?? l.unit_price * l.qty, o.currency)}
                                            </li>
                                        ))}
                                    </ul>
                                    <p class="muted">Subtotal {formatMoney(o.subtotal, o.currency)}</p>
                                </div>
                            ))}
                        </div>
                        <div class="card">
                            <p class="total">
                                Total <strong>{formatMoney(co.total, co.currency)}</strong>
                            </p>
                            {co.status === 'paid' ? (
                                <div role="status">
                                    <p class="ok-text">Payment complete. The merchants have your orders.</p>
                                    <Link class="btn btn-primary" href="/orders">
                                        View my orders
                                    </Link>
                                </div>
                            ) : payable ? (
                                <form onSubmit={pay} class="form" aria-label="Sandbox payment">
                                    <p role="timer" aria-live="off">
                                        Pay within <strong>{left !== null ? formatCountdown(left) : '—'}</strong>
                                    </p>
                                    <Field
                                        label="Card number (sandbox, optional)"
                                        inputMode="numeric"
                                        autoComplete="off"
                                        value={card}
                                        onInput={setCard}
                                        hint="Sandbox: leave empty or use any number; 4000 0000 0000 0002 is declined."
                                        error={error && error.fieldMessage('card')}
                                    />
                                    <ErrorBox error={error} />
                                    <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
                                        {busy ? 'Paying…' : `Pay ${formatMoney(co.total, co.currency)}`}
                                    </button>
                                </form>
                            ) : (
                                <p>This checkout can no longer be paid ({co.status === 'pending_payment' ? 'the payment window has closed' : co.status}).</p>
                            )}
                        </div>
                    </div>
                )}
            </Async>
            {!co && state.loading && <Loading />}
        </Page>
    );
}

export { useNow };
