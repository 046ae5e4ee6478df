// bench/viewers.mjs — N concurrent viewers of a live room's event stream.
// Opens N keep-alive SSE connections (raw sockets: a browser-like client per
// viewer would measure the client, not souk), reads and discards the stream,
// counts events, and prints a summary line of key=value pairs on SIGTERM or
// after --seconds. Only 127.0.0.1; stops by itself.
//   node bench/viewers.mjs --port P --room ID --count N [--seconds S]
import net from 'node:net';

const arg = (k, d) => {
    const i = process.argv.indexOf(`--${k}`);
    return i > 0 ? process.argv[i + 1] : d;
};
const port = Number(arg('port')), room = arg('room'), count = Number(arg('count', 1000));
const seconds = Number(arg('seconds', 120));
let open = 0, failed = 0, closed = 0, bytes = 0, stock = 0, orders = 0, snapshots = 0;
const socks = [];
const STOCK = Buffer.from('event: stock'), ORDER = Buffer.from('event: order'), SNAPSHOT = Buffer.from('event: snapshot');
const occurrences = (buf, pat) => {
    let n = 0;
    for (let i = buf.indexOf(pat); i >= 0; i = buf.indexOf(pat, i + pat.length)) n++;
    return n;
};
let cpuStart = null;

function connect() {
    return new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
            s.write(`GET /api/v1/live/rooms/${room}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
        });
        let counted = false;
        s.setNoDelay(true);
        s.on('data', (d) => {
            if (!counted) { counted = true; open++; resolve(); }
            bytes += d.length;
            // on the raw bytes: this client shares the machine with souk
            stock += occurrences(d, STOCK);
            orders += occurrences(d, ORDER);
            if (d.indexOf(SNAPSHOT) >= 0) snapshots++;
        });
        s.on('error', () => { if (!counted) { failed++; counted = true; resolve(); } });
        s.on('close', () => { closed++; if (!counted) { counted = true; resolve(); } });
        socks.push(s);
    });
}

function report() {
    const cpu = cpuStart ? process.cpuUsage(cpuStart) : { user: 0, system: 0 };
    console.log(`client_cpu_s_since_connected=${((cpu.user + cpu.system) / 1e6).toFixed(1)}`);
    console.log(`viewers_open=${open}\nviewers_failed=${failed}\nviewers_closed=${closed}\nsnapshots=${snapshots}\nstock_events=${stock}\norder_events=${orders}\nbytes=${bytes}`);
    for (const s of socks) s.destroy();
    process.exit(0);
}
process.on('SIGTERM', report);
process.on('SIGINT', report);
setTimeout(report, seconds * 1000).unref();

// Connect in waves so the listen backlog never overflows.
for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, connect));
}
cpuStart = process.cpuUsage();
console.error(`viewers: ${open} open, ${failed} failed`);
process.stdout.write(''); // keep running until SIGTERM or --seconds
setInterval(() => {}, 1 << 30);
