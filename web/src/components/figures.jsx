// Sales figures (GMV, orders, buyers per day) for one merchant or the whole platform.
// Endpoint shape: GET <base>?from=YYYY-MM-DD&to=YYYY-MM-DD → {days: [{date, gmv, orders, buyers}], currency}.
import { useState } from 'preact/hooks';
import { qs } from '../lib/api.js';
import { formatMoney, isoDay } from '../lib/format.js';
import { Chart } from './chart.jsx';
import { Async, Empty, Field, useApi } from './ui.jsx';

function defaultRange() {
    const to = new Date();
    const from = new Date(to.getTime() - 29 * 86400000);
    return { from: isoDay(from), to: isoDay(to) };
}

export function FiguresView({ base, who }) {
    const [range, setRange] = useState(defaultRange);
    const [draft, setDraft] = useState(range);
    const state = useApi(`${base}${qs(range)}`);
    const days = (state.data && Array.isArray(state.data.days) && state.data.days) || [];
    const currency = (state.data && state.data.currency) || 'CNY';
    const labels = days.map((d) => String(d.date).slice(5));
    const totals = days.reduce(
        (a, d) => ({ gmv: a.gmv + (Number(d.gmv) || 0), orders: a.orders + (Number(d.orders) || 0), buyers: a.buyers + (Number(d.buyers) || 0) }),
        { gmv: 0, orders: 0, buyers: 0 },
    );
    const money = (v) => formatMoney(v, currency);

    return (
        <div>
            <form
                class="row-form"
                onSubmit={(e) => {
                    e.preventDefault();
                    setRange(draft);
                }}
            >
                <Field label="From" type="date" value={draft.from} onInput={(v) => setDraft({ ...draft, from: v })} />
                <Field label="To" type="date" value={draft.to} onInput={(v) => setDraft({ ...draft, to: v })} />
                <button class="btn" type="submit">
                    Show
                </button>
            </form>
            <Async
                state={state}
                missing={
                    <Empty title="Figures are not available yet">
                        This souk server does not report {who} figures yet. They will appear here once it does.
                    </Empty>
                }
            >
                {days.length === 0 ? (
                    <Empty title="No sales in this period">
                        Pick a wider date range, or come back after the first orders are paid.
                    </Empty>
                ) : (
                    <>
                        <dl class="stats">
                            <div>
                                <dt>GMV</dt>
                                <dd>{money(totals.gmv)}</dd>
                            </div>
                            <div>
                                <dt>Orders</dt>
                                <dd>{totals.orders}</dd>
                            </div>
                            <div>
                                <dt>Buyer-days</dt>
                                <dd>{totals.buyers}</dd>
                            </div>
                            <div>
                                <dt>Average order</dt>
                                <dd>{totals.orders ? money(Math.round(totals.gmv / totals.orders)) : '—'}</dd>
                            </div>
                        </dl>
                        <div class="charts">
                            <Chart title={`GMV per day (${currency})`} labels={labels} series={[{ label: 'GMV', data: days.map((d) => Number(d.gmv) || 0) }]} format={money} />
                            <Chart title="Orders per day" type="bar" labels={labels} series={[{ label: 'Orders', data: days.map((d) => Number(d.orders) || 0) }]} />
                            <Chart title="Buyers per day" type="bar" labels={labels} series={[{ label: 'Buyers', data: days.map((d) => Number(d.buyers) || 0) }]} />
                        </div>
                    </>
                )}
            </Async>
        </div>
    );
}
