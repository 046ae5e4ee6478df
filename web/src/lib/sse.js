// Server-Sent Events over fetch(): unlike EventSource it can send the bearer token.
// Reconnects with backoff; calls onEvent(name, data) with data parsed as JSON when it is JSON.
import { API_BASE } from './api.js';
import { getToken } from './store.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens `path` (under /api/v1) as an event stream. Returns stop(). onState('open' |
 * 'retrying' | 'unavailable') reports the connection; 'unavailable' (404/405/501) is final.
 */
export function openEventStream(path, onEvent, onState = () => {}) {
    let stopped = false;
    let ac = null;

    function dispatch(block) {
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
            if (!line || line[0] === ':') continue;
            const c = line.indexOf(':');
            const field = c < 0 ? line : line.slice(0, c);
            let v = c < 0 ? '' : line.slice(c + 1);
            if (v[0] === ' ') v = v.slice(1);
            if (field === 'event') event = v;
            else if (field === 'data') data.push(v);
        }
        if (!data.length) return;
        let d = data.join('\n');
        try {
            d = JSON.parse(d);
        } catch {
            /* plain text data */
        }
        onEvent(event, d);
    }

    (async () => {
        let delay = 500;
        while (!stopped) {
            ac = new AbortController();
            try {
                const headers = { Accept: 'text/event-stream' };
                const t = getToken();
                if (t) headers.Authorization = `Bearer ${t}`;
                const res = await fetch(API_BASE + path, { headers, signal: ac.signal, cache: 'no-store' });
                if ([404, 405, 501].includes(res.status)) {
                    onState('unavailable');
                    return;
                }
                if (!res.ok || !res.body) throw new Error(`status ${res.status}`);
                onState('open');
                delay = 500;
                const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
                let buf = '';
                for (;;) {
                    const { value, done } = await reader.read();
                    if (done) break;
                    buf = (buf + value).replace(/\r\n?/g, '\n');
                    let i;
                    while ((i = buf.indexOf('\n\n')) >= 0) {
                        dispatch(buf.slice(0, i));
                        buf = buf.slice(i + 2);
                    }
                }
            } catch {
                /* fall through to a retry */
            }
            if (stopped) return;
            onState('retrying');
            await sleep(delay);
            delay = Math.min(delay * 2, 8000);
        }
    })();

    return () => {
        stopped = true;
        if (ac) ac.abort();
    };
}
