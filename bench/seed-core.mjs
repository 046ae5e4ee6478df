// Seeds a running souk for bench/run-core.sh through the public API, and checks
// stock afterwards. Node's built-in fetch; nothing to install.
//
//   node bench/seed-core.mjs seed  BASE_URL OPERATOR_EMAIL PASSWORD OUT_DIR [PRODUCTS_PER_MERCHANT]
//     logs in as the operator, creates 2 merchants (the operator owns them),
//     approves them, creates a category and products with 2 SKUs each and
//     plenty of stock; writes OUT_DIR/urls (product paths), OUT_DIR/skus
//     ("sku_id merchant_id") and OUT_DIR/operator.token.
//   node bench/seed-core.mjs stock BASE_URL OUT_DIR
//     sums sold / reserved / on_hand over the SKUs in OUT_DIR/skus and prints
//     key=value lines (a sanity check after the checkout run).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const STOCK = 1_000_000;

function fail(msg) {
    console.error(`seed-core: ${msg}`);
    process.exit(1);
}

async function call(base, method, path, token, body, expect) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    let res;
    try {
        res = await fetch(base + path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
        });
    } catch (e) {
        fail(`${method} ${path}: ${e.message}`);
    }
    const text = await res.text();
    if (expect && !expect.includes(res.status))
        fail(`${method} ${path} → ${res.status} (wanted ${expect.join('/')}): ${text.slice(0, 400)}`);
    try {
        return JSON.parse(text);
    } catch {
        fail(`${method} ${path} → ${res.status}: not JSON: ${text.slice(0, 200)}`);
    }
}

// Runs fn over items with at most `width` calls in flight.
async function pool(items, width, fn) {
    const out = new Array(items.length);
    let next = 0;
    async function worker() {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i], i);
        }
    }
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
    return out;
}

async function seed(base, email, password, outDir, perMerchant) {
    const login = await call(base, 'POST', '/api/v1/auth/login', null, { email, password }, [200]);
    const op = login.token;
    if (!op) fail('login answered no token');

    const merchants = [];
    for (const [name, kind, country] of [
        ['Bench Brand Store', 'brand', 'CN'],
        ['Bench Factory Outlet', 'factory', 'CN'],
    ]) {
        const m = await call(base, 'POST', '/api/v1/merchants', op,
            { name, kind, country, description: 'created by bench/run-core.sh' }, [201]);
        await call(base, 'POST', `/api/v1/merchants/${m.id}/approve`, op, undefined, [200]);
        merchants.push(m.id);
    }
    const cat = await call(base, 'POST', '/api/v1/categories', op, { name: 'Bench goods' }, [201]);

    const jobs = [];
    for (const mid of merchants)
        for (let i = 0; i < perMerchant; i++) jobs.push({ mid, i });
    const t0 = Date.now();
    const products = await pool(jobs, 16, ({ mid, i }) =>
        call(base, 'POST', '/api/v1/products', op, {
            merchant_id: mid,
            category_id: cat.id,
            title: `Bench product ${mid}-${i} 蓝牙耳机 wireless earbuds`,
            description: 'A product for the load test. 一个用于压测的商品。',
            attributes: { brand: 'Bench', model: `B-${i}` },
            skus: [
                { code: `B${i}-BLK`, attrs: { color: 'black' }, price: 19900 + i, currency: 'CNY', stock: STOCK },
                { code: `B${i}-WHT`, attrs: { color: 'white' }, price: 20900 + i, currency: 'CNY', stock: STOCK },
            ],
        }, [201]));
    const secs = (Date.now() - t0) / 1000;

    const urls = products.map((p) => `/api/v1/products/${p.id}`);
    const skus = products.flatMap((p) => p.skus.map((s) => `${s.id} ${p.merchant_id}`));
    writeFileSync(join(outDir, 'urls'), urls.join('\n') + '\n');
    writeFileSync(join(outDir, 'skus'), skus.join('\n') + '\n');
    writeFileSync(join(outDir, 'operator.token'), op + '\n');
    console.log(`merchants=${merchants.join(',')}`);
    console.log(`category=${cat.id}`);
    console.log(`products=${products.length}`);
    console.log(`skus=${skus.length}`);
    console.log(`seed_products_per_s=${(products.length / secs).toFixed(1)}`);
}

async function stock(base, outDir) {
    const lines = readFileSync(join(outDir, 'skus'), 'utf8').trim().split('\n');
    const ids = lines.map((l) => l.split(' ')[0]);
    const rows = await pool(ids, 16, (id) => call(base, 'GET', `/api/v1/skus/${id}`, null, undefined, [200]));
    let sold = 0, reserved = 0, onHand = 0, bad = 0;
    for (const s of rows) {
        sold += s.sold ?? 0;
        reserved += s.reserved ?? 0;
        onHand += s.on_hand ?? 0;
        // available = on_hand − reserved must hold, and nothing may go negative.
        if (s.available !== s.on_hand - s.reserved || s.on_hand < 0 || s.reserved < 0) bad++;
    }
    console.log(`stock_skus=${rows.length}`);
    console.log(`stock_sold=${sold}`);
    console.log(`stock_reserved=${reserved}`);
    console.log(`stock_on_hand=${onHand}`);
    console.log(`stock_initial=${rows.length * STOCK}`);
    console.log(`stock_inconsistent_skus=${bad}`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'seed' && args.length >= 4) await seed(args[0], args[1], args[2], args[3], Number(args[4] ?? 500));
else if (cmd === 'stock' && args.length === 2) await stock(args[0], args[1]);
else fail('usage: seed-core.mjs seed BASE EMAIL PASSWORD OUT_DIR [N] | stock BASE OUT_DIR');
