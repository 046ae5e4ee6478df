// A small Server-Sent Events client for the API tests, on Node's fetch() body
// reader. It keeps every event it received (with the time it arrived) so a test
// can wait for one and then look at the whole history.
import { AssertionError } from 'node:assert';

/**
 * Opens `GET /api/v1{path}` as an event stream.
 * Returns {status, headers, events, retry, text?, waitFor, close, closed}.
 *   events: [{event, data (parsed JSON, or the raw string if not JSON), raw, at}]
 *   comments: [{text, at}] (lines starting with ':' such as pings)
 * A non-200 answer is returned with `text` (the body) and no stream.
 */
export async function openEvents(server, path, { token, timeout = 10000 } = {}) {
    const ac = new AbortController();
    const headers = { accept: 'text/event-stream' };
    if (token) headers.authorization = `Bearer ${token}`;
    const t = setTimeout(() => ac.abort(new Error('connect timeout')), timeout);
    let res;
    try {
        res = await fetch(server.url + '/api/v1' + path, { headers, signal: ac.signal });
    } finally {
        clearTimeout(t);
    }
    const s = {
        status: res.status,
        headers: res.headers,
        events: [],
        comments: [],
        retry: null,
        closed: false,
        error: null,
        waiters: [],
        path,
    };
    if (res.status !== 200) {
        s.text = await res.text();
        try {
            s.json = JSON.parse(s.text);
        } catch {
            s.json = undefined;
        }
        s.closed = true;
        s.close = async () => {};
        return s;
    }

    const dec = new TextDecoder();
    let buf = '';
    const notify = () => {
        for (const w of [...s.waiters]) w.check();
    };
    const dispatch = (block) => {
        let event = 'message';
        const data = [];
        let any = false;
        for (const line of block.split('\n')) {
            if (line === '') continue;
            if (line.startsWith(':')) {
                s.comments.push({ text: line.slice(1).trim(), at: Date.now() });
                continue;
            }
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            let value = i < 0 ? '' : line.slice(i + 1);
            if (value.startsWith(' ')) value = value.slice(1);
            if (field === 'event') event = value;
            else if (field === 'data') {
                data.push(value);
                any = true;
            } else if (field === 'retry') s.retry = Number(value);
        }
        if (!any) return;
        const raw = data.join('\n');
        let parsed;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = raw;
        }
        s.events.push({ event, data: parsed, raw, at: Date.now() });
    };
    const reader = res.body.getReader();
    s.done = (async () => {
        try {
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
                let k;
                while ((k = buf.indexOf('\n\n')) >= 0) {
                    dispatch(buf.slice(0, k));
                    buf = buf.slice(k + 2);
                }
                notify();
            }
        } catch (e) {
            if (!ac.signal.aborted) s.error = e;
        } finally {
            s.closed = true;
            notify();
        }
    })();

    /**
     * Resolves with the first event (from index `from`, default 0) for which
     * pred(ev) is true; rejects after `ms` with the events seen so far.
     */
    s.waitFor = (pred, { ms = 5000, from = 0, what = 'an event' } = {}) =>
        new Promise((resolve, reject) => {
            const w = {
                check() {
                    for (let i = from; i < s.events.length; i++) {
                        if (pred(s.events[i])) {
                            done();
                            resolve(s.events[i]);
                            return;
                        }
                    }
                    if (s.closed) {
                        done();
                        reject(new AssertionError({
                            message: `${path}: stream closed (${s.error?.message ?? 'EOF'}) before ${what}; ` +
                                `events: ${summary(s.events)}`,
                        }));
                    }
                },
            };
            const timer = setTimeout(() => {
                done();
                reject(new AssertionError({ message: `${path}: no ${what} within ${ms} ms; events: ${summary(s.events)}` }));
            }, ms);
            function done() {
                clearTimeout(timer);
                s.waiters = s.waiters.filter((x) => x !== w);
            }
            s.waiters.push(w);
            w.check();
        });

    /** Aborts the request and waits for the reader to finish. */
    s.close = async () => {
        if (!s.closed) ac.abort();
        await s.done;
    };
    return s;
}

/** "snapshot, stock×12, order×3, …" for failure messages (tail only). */
export function summary(events, tail = 40) {
    const shown = events.slice(-tail).map((e) => `${e.event} ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}`);
    return `${events.length} events${events.length > tail ? ' (last ' + tail + ')' : ''}: ${shown.join(' | ').slice(0, 3000)}`;
}
