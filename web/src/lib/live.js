// A live room's state, kept current from GET /live/rooms/{id} and its event stream:
// snapshot, viewers {count}, stock {item_id, remaining, sold}, order {item_id, buyer, qty}
// (possibly batched as an array), pinned {item_id}, status {status}. When the stream is not
// available the room is polled instead.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from './api.js';
import { openEventStream } from './sse.js';

function pinnedOf(room) {
    if (!room) return null;
    const p = room.pinned_item_id ?? room.pinned_item ?? room.pinned;
    if (p && typeof p === 'object') return p.id != null ? String(p.id) : p.item_id != null ? String(p.item_id) : null;
    return p != null ? String(p) : null;
}

function viewersOf(room) {
    if (!room) return null;
    const v = room.viewers ?? room.viewer_count;
    if (v && typeof v === 'object') return v.count ?? null;
    return v ?? null;
}

/**
 * useLiveRoom(id, {onOrder}) → {room, items, viewers, status, pinned, error, connection,
 * sales: [{t, sold}], reload}. `sales` is total units sold over time (for the live chart).
 */
export function useLiveRoom(id, { onOrder } = {}) {
    const [room, setRoom] = useState(null);
    const [items, setItems] = useState([]);
    const [viewers, setViewers] = useState(null);
    const [status, setStatus] = useState(null);
    const [pinned, setPinned] = useState(null);
    const [error, setError] = useState(null);
    const [connection, setConnection] = useState('connecting');
    const [sales, setSales] = useState([]);
    const [n, setN] = useState(0);
    const onOrderRef = useRef(onOrder);
    onOrderRef.current = onOrder;

    const applyRoom = (r) => {
        if (!r || typeof r !== 'object') return;
        const rr = r.room && typeof r.room === 'object' ? { ...r.room, items: r.items || r.room.items } : r;
        setRoom(rr);
        if (Array.isArray(rr.items)) setItems(rr.items);
        if (rr.status) setStatus(rr.status);
        const v = viewersOf(rr);
        if (v != null) setViewers(v);
        const p = pinnedOf(rr);
        if (p != null) setPinned(p);
    };

    useEffect(() => {
        if (!Array.isArray(items)) return;
        const sold = items.reduce((a, it) => a + (Number(it.sold) || 0), 0);
        setSales((s) => (s.length && s[s.length - 1].sold === sold ? s : [...s.slice(-299), { t: Date.now(), sold }]));
    }, [items]);

    // One sample every 5 s while the page is open, so the sales chart moves with time even
    // between sales.
    useEffect(() => {
        const t = setInterval(() => {
            setSales((s) => (s.length ? [...s.slice(-299), { t: Date.now(), sold: s[s.length - 1].sold }] : s));
        }, 5000);
        return () => clearInterval(t);
    }, []);

    useEffect(() => {
        let stop = () => {};
        let poll = null;
        let cancelled = false;
        const load = () =>
            get(`/live/rooms/${encodeURIComponent(id)}`).then(
                (r) => {
                    if (cancelled) return;
                    setError(null);
                    applyRoom(r);
                },
                (e) => !cancelled && setError(e),
            );
        load();
        stop = openEventStream(
            `/live/rooms/${encodeURIComponent(id)}/events`,
            (event, data) => {
                if (event === 'snapshot') applyRoom(data);
                else if (event === 'viewers') setViewers(data && typeof data === 'object' ? data.count : data);
                else if (event === 'stock') {
                    const list = Array.isArray(data) ? data : [data];
                    setItems((its) =>
                        its.map((it) => {
                            const u = list.find((x) => x && String(x.item_id) === String(it.id));
                            return u ? { ...it, remaining: u.remaining ?? it.remaining, sold: u.sold ?? it.sold } : it;
                        }),
                    );
                } else if (event === 'order') {
                    const list = Array.isArray(data) ? data : data && Array.isArray(data.orders) ? data.orders : [data];
                    for (const o of list) if (o && onOrderRef.current) onOrderRef.current(o);
                } else if (event === 'pinned') setPinned(data && data.item_id != null ? String(data.item_id) : null);
                else if (event === 'status') {
                    const s = data && typeof data === 'object' ? data.status : data;
                    setStatus(s);
                    setRoom((r) => (r ? { ...r, status: s } : r));
                } else if (event === 'item' || event === 'items') {
                    load();
                }
            },
            (state) => {
                if (cancelled) return;
                setConnection(state);
                if (state === 'open') load();
                if (state === 'unavailable' && !poll) poll = setInterval(load, 3000);
            },
        );
        return () => {
            cancelled = true;
            stop();
            if (poll) clearInterval(poll);
        };
    }, [id, n]);

    return { room, items, viewers, status, pinned, error, connection, sales, reload: () => setN((x) => x + 1), refresh: () => get(`/live/rooms/${encodeURIComponent(id)}`).then(applyRoom, () => {}) };
}

const skuCache = new Map();
/** {sku, product} for a SKU id (cached): live items name only the SKU. */
export function skuInfo(skuId) {
    const k = String(skuId);
    if (!skuCache.has(k)) {
        skuCache.set(
            k,
            get(`/skus/${encodeURIComponent(k)}`)
                .then(async (sku) => {
                    const product = sku && sku.product_id ? await get(`/products/${sku.product_id}`).catch(() => null) : null;
                    return { sku, product };
                })
                .catch(() => ({ sku: null, product: null })),
        );
    }
    return skuCache.get(k);
}

export function useSkuInfo(skuId) {
    const [info, setInfo] = useState(null);
    useEffect(() => {
        if (skuId == null) return;
        let c = false;
        skuInfo(skuId).then((x) => !c && setInfo(x));
        return () => {
            c = true;
        };
    }, [skuId]);
    return info;
}
