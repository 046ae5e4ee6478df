// Chart.js charts, loaded on first use so the storefront never downloads them. Every chart
// has a text summary for screen readers and a data table behind a disclosure.
import { useEffect, useRef, useState } from 'preact/hooks';

let chartLib = null;
function loadChart() {
    if (!chartLib) chartLib = import('chart.js/auto').then((m) => m.default || m.Chart);
    return chartLib;
}

const PALETTE = ['#c2410c', '#2563eb', '#059669', '#7c3aed', '#db2777'];

/**
 * type: 'line' | 'bar'; labels: x labels; series: [{label, data: [numbers]}];
 * format: value → text (ticks, tooltips, table). `animate` false for live charts.
 */
export function Chart({ title, type = 'line', labels, series, format = String, animate = true, height = 220 }) {
    const canvas = useRef(null);
    const chart = useRef(null);
    const [failed, setFailed] = useState(false);

    useEffect(() => {
        let cancelled = false;
        loadChart().then(
            (ChartJS) => {
                if (cancelled || !canvas.current) return;
                const data = {
                    labels,
                    datasets: series.map((s, i) => ({
                        label: s.label,
                        data: s.data,
                        borderColor: PALETTE[i % PALETTE.length],
                        backgroundColor: type === 'bar' ? `${PALETTE[i % PALETTE.length]}cc` : `${PALETTE[i % PALETTE.length]}22`,
                        fill: type === 'line' && series.length === 1,
                        tension: 0.25,
                        pointRadius: labels.length > 40 ? 0 : 3,
                        stepped: s.stepped || false,
                    })),
                };
                if (chart.current) {
                    chart.current.data = data;
                    chart.current.update(animate ? undefined : 'none');
                    return;
                }
                chart.current = new ChartJS(canvas.current, {
                    type,
                    data,
                    options: {
                        responsive: true,
                        maintainAspectRatio: false,
                        animation: animate ? undefined : false,
                        plugins: {
                            legend: { display: series.length > 1 },
                            tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.parsed.y)}` } },
                        },
                        scales: {
                            y: { beginAtZero: true, ticks: { precision: 0, callback: (v) => format(v) } },
                            x: { ticks: { maxRotation: 0, autoSkip: true } },
                        },
                    },
                });
            },
            () => setFailed(true),
        );
        return () => {
            cancelled = true;
        };
    }, [type, JSON.stringify(labels), JSON.stringify(series)]);

    useEffect(
        () => () => {
            if (chart.current) chart.current.destroy();
            chart.current = null;
        },
        [],
    );

    const summary = series
        .map((s) => {
            const total = s.data.reduce((a, b) => a + (Number(b) || 0), 0);
            const last = s.data.length ? s.data[s.data.length - 1] : 0;
            return `${s.label}: ${s.data.length} points, latest ${format(last)}, total ${format(total)}`;
        })
        .join('. ');

    return (
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <div class="chart-box" style={{ height: `${height}px` }}>
                {failed ? (
                    <p class="hint">The chart could not be drawn; the data table below has the numbers.</p>
                ) : (
                    <canvas ref={canvas} role="img" aria-label={`${title}. ${summary}`} />
                )}
            </div>
            <details class="chart-data">
                <summary>Data table: {title}</summary>
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">Point</th>
                                {series.map((s) => (
                                    <th scope="col" key={s.label}>
                                        {s.label}
                                    </th>
                                ))}
                            </tr>
                        </thead>
                        <tbody>
                            {labels.map((l, i) => (
                                <tr key={i}>
                                    <th scope="row">{l}</th>
                                    {series.map((s) => (
                                        <td key={s.label}>{format(s.data[i])}</td>
                                    ))}
                                </tr>
                            ))}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    );
}
