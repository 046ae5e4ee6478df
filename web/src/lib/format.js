// Money and time formatting. Money is integer minor units + ISO 4217 code: never a float in
// state; the decimal point is placed with string arithmetic, for display only.

const digitsCache = new Map();

/** Minor-unit exponent of a currency (JPY 0, CNY 2, ...), from the browser's ICU data. */
export function currencyDigits(currency) {
    if (!currency) return 2;
    if (!digitsCache.has(currency)) {
        let d = 2;
        try {
            d = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
                .maximumFractionDigits;
        } catch {
            d = 2;
        }
        digitsCache.set(currency, d);
    }
    return digitsCache.get(currency);
}

/** "1999" minor units with 2 digits → "19.99" (works on any int, negative too). */
export function minorToDecimal(minor, digits) {
    let n = BigInt(Math.trunc(Number(minor) || 0));
    const neg = n < 0n;
    if (neg) n = -n;
    let s = n.toString();
    if (digits > 0) {
        s = s.padStart(digits + 1, '0');
        s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
    }
    return (neg ? '-' : '') + s;
}

export function formatMoney(minor, currency) {
    if (minor === null || minor === undefined || minor === '') return '—';
    const cur = currency || 'CNY';
    const digits = currencyDigits(cur);
    const dec = minorToDecimal(minor, digits);
    try {
        // Intl accepts a decimal string and keeps its exact digits.
        // CNY as plain "¥" (this is a China-first marketplace); other currencies keep their
        // unambiguous symbol (US$, HK$, JP¥...).
        return new Intl.NumberFormat(undefined, {
            style: 'currency',
            currency: cur,
            currencyDisplay: cur === 'CNY' ? 'narrowSymbol' : 'symbol',
        }).format(dec);
    } catch {
        return `${dec} ${cur}`;
    }
}

/**
 * Parses what a person typed ("12.5", "1,299.00") into minor units; null if it is not a
 * non-negative amount with at most the currency's digits.
 */
export function parseMoney(text, currency) {
    const digits = currencyDigits(currency);
    const t = String(text ?? '').trim().replace(/[,\s]/g, '');
    const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
    if (!m) return null;
    const frac = m[2] || '';
    if (frac.length > digits) return null;
    const s = m[1] + frac.padEnd(digits, '0');
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : null;
}

export function formatTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/** "4:05" / "1:02:03" for a countdown in milliseconds (0 when past). */
export function formatCountdown(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export const STATUS_LABELS = {
    pending_payment: 'Awaiting payment',
    paid: 'Paid',
    shipped: 'Shipped',
    delivered: 'Delivered',
    completed: 'Completed',
    cancelled: 'Cancelled',
    expired: 'Expired',
    refunded: 'Refunded',
    pending: 'Pending approval',
    active: 'Active',
    suspended: 'Suspended',
    archived: 'Archived',
    scheduled: 'Scheduled',
    live: 'Live',
    ended: 'Ended',
};

export const statusLabel = (s) => STATUS_LABELS[s] || String(s || '').replace(/_/g, ' ');

export const MERCHANT_KINDS = [
    ['brand', 'Brand', '品牌'],
    ['sme', 'SME', '中小企业'],
    ['factory', 'Factory', '工厂'],
    ['exporter', 'Exporter', '外贸'],
    ['rural', 'Rural', '农特产'],
    ['crossborder', 'Cross-border', '跨境'],
    ['individual', 'Individual', '个人'],
];

export function kindLabel(kind) {
    const k = MERCHANT_KINDS.find((x) => x[0] === kind);
    return k ? `${k[1]} · ${k[2]}` : kind || '';
}

export const CURRENCIES = 'CNY USD EUR GBP JPY HKD KRW SGD AUD CAD CHF INR RUB BRL MYR THB VND IDR PHP AED SAR TRY MXN NZD SEK NOK DKK PLN ZAR'.split(
    ' ',
);

/** "color: red, size: M" from a SKU's attrs object (falls back to its code). */
export function skuLabel(sku) {
    if (!sku) return '';
    const a = sku.attrs && typeof sku.attrs === 'object' ? Object.entries(sku.attrs) : [];
    if (a.length) return a.map(([k, v]) => `${k}: ${v}`).join(', ');
    return sku.code || `SKU ${sku.id}`;
}

/** Unit price for a quantity: the highest tier whose min_qty ≤ qty (API.md "Wholesale"). */
export function unitPriceFor(sku, qty) {
    let price = sku.price;
    for (const t of sku.price_tiers || []) if (qty >= t.min_qty) price = t.price;
    return price;
}

export function isoDay(d) {
    return d.toISOString().slice(0, 10);
}
