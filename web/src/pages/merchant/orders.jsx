// Merchant orders: filter by status; ship (carrier, tracking), mark delivered, cancel, refund.
import { useEffect, useState } from 'preact/hooks';
import { post, qs } from '../../lib/api.js';
import { formatMoney, formatTime, statusLabel } from '../../lib/format.js';
import { Link } from '../../lib/router.jsx';
import { toast } from '../../lib/store.js';
import { Async, ConfirmButton, Empty, ErrorBox, Field, LoadMore, Page, Select, StatusChip, useAction, useList } from '../../components/ui.jsx';

const STATUSES = ['', 'pending_payment', 'paid', 'shipped', 'delivered', 'completed', 'cancelled', 'expired', 'refunded'];

function ShipForm({ order, onDone }) {
    const [open, setOpen] = useState(false);
    const [carrier, setCarrier] = useState('');
    const [tracking, setTracking] = useState('');
    const [run, { busy, error }] = useAction();
    const carrierId = `carrier-${order.id}`;
    // The Ship button is replaced by the form: keep keyboard focus in the form.
    useEffect(() => {
        if (open) document.getElementById(carrierId)?.focus();
    }, [open]);
    if (!open)
        return (
            <button type="button" class="btn btn-primary btn-small" onClick={() => setOpen(true)}>
                Ship
            </button>
        );
    const submit = (e) => {
        e.preventDefault();
        run(async () => {
            const body = {};
            if (carrier.trim()) body.carrier = carrier.trim();
            if (tracking.trim()) body.tracking = tracking.trim();
            await post(`/orders/${order.id}/ship`, body);
            toast(`Order ${order.id} shipped`, 'ok');
            setOpen(false);
            onDone();
        });
    };
    return (
        <form class="ship-form" onSubmit={submit} aria-label={`Ship order ${order.id}`}>
            <Field id={carrierId} label="Carrier" value={carrier} onInput={setCarrier} placeholder="e.g. SF Express" error={error && error.fieldMessage('carrier')} />
            <Field label="Tracking number" value={tracking} onInput={setTracking} error={error && error.fieldMessage('tracking')} />
            <ErrorBox error={error} />
            <div class="actions">
                <button class="btn btn-primary btn-small" type="submit" disabled={busy}>
                    {busy ? 'Shipping…' : 'Confirm shipment'}
                </button>
                <button class="btn btn-small btn-link" type="button" onClick={() => setOpen(false)}>
                    Cancel
                </button>
            </div>
        </form>
    );
}

function OrderRow({ order, onDone }) {
    const [run, { busy, error }] = useAction();
    const act = (path, msg) =>
        run(async () => {
            await post(`/orders/${order.id}/${path}`, {});
            toast(msg, 'ok');
            onDone();
        });
    const a = order.shipping_address || {};
    return (
        <li class="card order-card">
            <div class="order-card-head">
                <span>
                    <strong>Order {order.id}</strong> <span class="muted">· {formatTime(order.created_at)}</span>
                </span>
                <StatusChip status={order.status} />
            </div>
            <ul class="plain">
                {(order.lines || []).map((l) => (
                    <li key={l.sku_id}>
                        {l.qty} × {l.title || `SKU ${l.sku_id}`} @ {formatMoney(l.unit_price, order.currency)}
                    </li>
                ))}
            </ul>
            <p>
                <strong>{formatMoney(order.subtotal, order.currency)}</strong>
                {order.commission != null && <span class="muted"> · commission {formatMoney(order.commission, order.currency)}</span>}
            </p>
            {a.name && (
                <p class="muted">
                    To {a.name}, {a.city} {a.country}
                </p>
            )}
            {order.tracking && (
                <p class="muted">
                    {order.carrier} {order.tracking}
                </p>
            )}
            <ErrorBox error={error} />
            <div class="actions">
                {order.status === 'paid' && <ShipForm order={order} onDone={onDone} />}
                {order.status === 'shipped' && (
                    <button type="button" class="btn btn-small" disabled={busy} onClick={() => act('deliver', `Order ${order.id} marked delivered`)}>
                        Mark delivered
                    </button>
                )}
                {order.status === 'pending_payment' && (
                    <ConfirmButton class="btn btn-small" label="Cancel" confirmLabel="Confirm cancel" disabled={busy} onConfirm={() => act('cancel', `Order ${order.id} cancelled`)} />
                )}
                {order.status === 'paid' && (
                    <ConfirmButton class="btn btn-small" label="Refund" confirmLabel="Confirm refund" disabled={busy} onConfirm={() => act('cancel', `Order ${order.id} refunded`)} />
                )}
            </div>
        </li>
    );
}

export function MerchantOrders({ merchant }) {
    const [status, setStatus] = useState('');
    const list = useList(`/orders${qs({ merchant_id: merchant.id, status, limit: 20 })}`);
    // Staff of several merchants: keep only this merchant's orders whatever the server sends.
    const items = list.items.filter((o) => String(o.merchant_id) === String(merchant.id));
    return (
        <Page title="Orders · 订单">
            <div class="row-form">
                <Select label="Status" value={status} onChange={setStatus} options={STATUSES.map((s) => [s, s ? statusLabel(s) : 'All orders'])} />
            </div>
            <Async state={list} empty={<Empty title={status ? `No ${statusLabel(status).toLowerCase()} orders` : 'No orders yet'} />}>
                {items.length === 0 && !list.loading ? (
                    <Empty title="No orders here yet" />
                ) : (
                    <ul class="order-list">
                        {items.map((o) => (
                            <OrderRow key={o.id} order={o} onDone={list.reload} />
                        ))}
                    </ul>
                )}
                <LoadMore list={list} />
            </Async>
            <p class="hint">
                Refunding a paid order returns its units to stock and books a refund in the <Link href={`/merchant/${merchant.id}/ledger`}>ledger</Link>.
            </p>
        </Page>
    );
}
