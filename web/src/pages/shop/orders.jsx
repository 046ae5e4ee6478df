// A shopper's orders and one order with its status timeline and the moves a shopper can make.
import { newIdempotencyKey, post } from '../../lib/api.js';
import { formatMoney, formatTime } from '../../lib/format.js';
import { Link } from '../../lib/router.jsx';
import { toast } from '../../lib/store.js';
import { Async, ConfirmButton, Empty, ErrorBox, LoadMore, MerchantName, Page, StatusChip, Timeline, useAction, useApi, useList } from '../../components/ui.jsx';

export function Orders() {
    const list = useList('/orders?limit=20');
    return (
        <Page title="My orders · 我的订单">
            <Async
                state={list}
                empty={
                    <Empty title="No orders yet">
                        <Link href="/">Start shopping</Link>
                    </Empty>
                }
            >
                <ul class="order-list">
                    {list.items.map((o) => (
                        <li key={o.id} class="card order-card">
                            <div class="order-card-head">
                                <Link href={`/orders/${o.id}`}>Order {o.id}</Link>
                                <StatusChip status={o.status} />
                            </div>
                            <p>
                                <MerchantName id={o.merchant_id} badge />
                            </p>
                            <p class="muted">
                                {(o.lines || []).map((l) => `${l.qty} × ${l.title || `SKU ${l.sku_id}`}`).join(', ')}
                            </p>
                            <p>
                                <strong>{formatMoney(o.subtotal, o.currency)}</strong> <span class="muted">· {formatTime(o.created_at)}</span>
                            </p>
                        </li>
                    ))}
                </ul>
                <LoadMore list={list} />
            </Async>
        </Page>
    );
}

export function Order({ params }) {
    const state = useApi(`/orders/${encodeURIComponent(params.id)}`);
    const o = state.data;
    const [run, { busy, error }] = useAction();
    const act = (path, body, msg, opts) =>
        run(async () => {
            await post(`/orders/${o.id}/${path}`, body, opts);
            toast(msg, 'ok');
            state.reload();
        });
    return (
        <Page title={o ? `Order ${o.id}` : 'Order'}>
            <Async state={state}>
                {o && (
                    <div class="two-col">
                        <div>
                            <p>
                                <StatusChip status={o.status} /> · <MerchantName id={o.merchant_id} badge />
                            </p>
                            <div class="table-wrap">
                                <table>
                                    <caption class="sr-only">Items</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">Item</th>
                                            <th scope="col">Qty</th>
                                            <th scope="col">Unit price</th>
                                            <th scope="col">Total</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {(o.lines || []).map((l) => (
                                            <tr key={l.sku_id}>
                                                <td>{l.product_id ? <Link href={`/product/${l.product_id}`}>{l.title || `SKU ${l.sku_id}`}</Link> : l.title || `SKU ${l.sku_id}`}</td>
                                                <td>{l.qty}</td>
                                                <td>{formatMoney(l.unit_price, o.currency)}</td>
                                                <td>{formatMoney(l.line_total ?? l.unit_price * l.qty, o.currency)}</td>
                                            </tr>
                                        ))}
                                    </tbody>
                                </table>
                            </div>
                            <p class="total">
                                Subtotal <strong>{formatMoney(o.subtotal, o.currency)}</strong>
                            </p>
                            {o.shipping_address && (
                                <address class="card">
                                    {o.shipping_address.name} · {o.shipping_address.phone}
                                    <br />
                                    {o.shipping_address.line1}, {o.shipping_address.city}
                                    {o.shipping_address.region ? `, ${o.shipping_address.region}` : ''} {o.shipping_address.postal_code || ''} {o.shipping_address.country}
                                </address>
                            )}
                            {(o.carrier || o.tracking) && (
                                <p>
                                    Shipped with {o.carrier || 'a carrier'} {o.tracking && <>· tracking <code>{o.tracking}</code></>}
                                </p>
                            )}
                            <ErrorBox error={error} />
                            <div class="actions">
                                {o.status === 'pending_payment' && (
                                    <button type="button" class="btn btn-primary" disabled={busy} onClick={() => act('pay', { method: 'sandbox' }, 'Payment received', { idempotencyKey: newIdempotencyKey() })}>
                                        Pay {formatMoney(o.subtotal, o.currency)}
                                    </button>
                                )}
                                {o.status === 'delivered' && (
                                    <button type="button" class="btn btn-primary" disabled={busy} onClick={() => act('complete', {}, 'Order completed. Thank you!')}>
                                        Confirm receipt
                                    </button>
                                )}
                                {(o.status === 'pending_payment' || o.status === 'paid') && (
                                    <ConfirmButton
                                        label={o.status === 'paid' ? 'Cancel and refund' : 'Cancel order'}
                                        disabled={busy}
                                        onConfirm={() => act('cancel', {}, o.status === 'paid' ? 'Order refunded' : 'Order cancelled')}
                                    />
                                )}
                            </div>
                        </div>
                        <div class="card">
                            <h2 class="h3">Status</h2>
                            <Timeline order={o} />
                        </div>
                    </div>
                )}
            </Async>
        </Page>
    );
}
