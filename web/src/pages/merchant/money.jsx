// Merchant overview, ledger and sales figures.
import { listItems } from '../../lib/api.js';
import { formatMoney, formatTime, kindLabel, statusLabel } from '../../lib/format.js';
import { Link } from '../../lib/router.jsx';
import { FiguresView } from '../../components/figures.jsx';
import { Async, Empty, Page, StatusChip, useApi } from '../../components/ui.jsx';

export function Overview({ merchant }) {
    const orders = useApi(`/orders?merchant_id=${merchant.id}&status=paid&limit=5`);
    const toShip = listItems(orders.data).filter((o) => String(o.merchant_id) === String(merchant.id));
    const base = `/merchant/${merchant.id}`;
    return (
        <Page title={merchant.name}>
            <dl class="stats">
                <div>
                    <dt>Status</dt>
                    <dd>
                        <StatusChip status={merchant.status} />
                    </dd>
                </div>
                <div>
                    <dt>Kind</dt>
                    <dd>{kindLabel(merchant.kind)}</dd>
                </div>
                <div>
                    <dt>Country</dt>
                    <dd>{merchant.country}</dd>
                </div>
                <div>
                    <dt>Commission</dt>
                    <dd>{merchant.commission_bp != null ? `${(merchant.commission_bp / 100).toFixed(2)}%` : '—'}</dd>
                </div>
            </dl>
            <section aria-labelledby="h-ship">
                <h2 id="h-ship">Waiting to ship</h2>
                <Async state={orders} empty={<Empty title="Nothing to ship right now" />}>
                    {toShip.length === 0 ? (
                        <Empty title="Nothing to ship right now" />
                    ) : (
                        <ul class="plain">
                            {toShip.map((o) => (
                                <li key={o.id}>
                                    Order {o.id} · {formatMoney(o.subtotal, o.currency)} · {formatTime(o.paid_at || o.created_at)}
                                </li>
                            ))}
                        </ul>
                    )}
                </Async>
                <p>
                    <Link href={`${base}/orders`}>All orders</Link>
                </p>
            </section>
            <section aria-labelledby="h-next">
                <h2 id="h-next">Next steps</h2>
                <ul class="link-cards">
                    <li>
                        <Link href={`${base}/products/new`}>List a product</Link>
                    </li>
                    <li>
                        <Link href={`${base}/live`}>Go live</Link>
                    </li>
                    <li>
                        <Link href={`${base}/figures`}>See your sales</Link>
                    </li>
                </ul>
            </section>
        </Page>
    );
}

const LEDGER_KINDS = { sale: 'Sale', commission: 'Commission', refund: 'Refund', payout: 'Payout' };

export function Ledger({ merchant }) {
    const state = useApi(`/merchants/${merchant.id}/ledger`);
    const d = state.data || {};
    const bal = d.balance || {};
    const items = listItems(d);
    return (
        <Page title="Ledger · 账本">
            <Async state={state}>
                <dl class="stats">
                    <div>
                        <dt>Pending</dt>
                        <dd>{formatMoney(bal.pending ?? 0, bal.currency)}</dd>
                    </div>
                    <div>
                        <dt>Available</dt>
                        <dd>{formatMoney(bal.available ?? 0, bal.currency)}</dd>
                    </div>
                </dl>
                <p class="hint">Pending: orders not yet completed by the shopper. Available: completed orders, ready for payout.</p>
                {items.length === 0 ? (
                    <Empty title="No entries yet">Sales, commissions and refunds are booked here when orders are paid.</Empty>
                ) : (
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">When</th>
                                    <th scope="col">Entry</th>
                                    <th scope="col">Order</th>
                                    <th scope="col" class="num">
                                        Amount
                                    </th>
                                </tr>
                            </thead>
                            <tbody>
                                {items.map((e, i) => (
                                    <tr key={e.id || i}>
                                        <td>{formatTime(e.created_at)}</td>
                                        <td>{LEDGER_KINDS[e.kind] || statusLabel(e.kind)}</td>
                                        <td>{e.order_id || '—'}</td>
                                        <td class={`num ${e.amount < 0 ? 'neg' : 'pos'}`}>{formatMoney(e.amount, e.currency || bal.currency)}</td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                    </div>
                )}
            </Async>
        </Page>
    );
}

export function MerchantFigures({ merchant }) {
    return (
        <Page title="Sales figures · 经营数据">
            <FiguresView base={`/merchants/${merchant.id}/figures`} who="merchant" />
        </Page>
    );
}
