// docs/openapi.yaml stays in step with src/api/routes.c (no server needed, no dependencies).
//
// - every route in routes.c is in the document (same path with {param} syntax, same method);
// - every path+method in the document is in routes.c, unless the operation says
//   `x-status: planned` (and a served route must not say planned any more);
// - every $ref resolves, path parameters are declared, operationIds are unique;
// - each error response is problem+json and the codes it lists exist in src/domain/err.c
//   with that HTTP status;
// - the problem codes a handler raises directly (api_fail/http_problem with a constant,
//   following the functions it uses in src/) are listed on its operation, and handlers that
//   honour Idempotency-Key declare it.
//
// The document is read with the small YAML reader below (block mappings and sequences,
// quoted and plain scalars, flow [..] / {..}, | and > blocks). When python3 with PyYAML is
// installed, one test checks that reader against PyYAML.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOC_PATH = path.join(REPO, 'docs/openapi.yaml');
const ROUTES_PATH = path.join(REPO, 'src/api/routes.c');
const ERR_PATH = path.join(REPO, 'src/domain/err.c');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Codes any request may get from the server itself, not listed per operation.
const GLOBAL_CODES = new Set(['internal', 'unavailable', 'too_large', 'method_not_allowed']);
// Codes a handler's shared helpers mention but that this operation cannot actually return.
const UNREACHABLE = {
    'POST /api/v1/cart/items': ['not_found'], // cart_change's 404 is for PATCH only
};

// ---------------------------------------------------------------- tiny YAML reader

/** Parses the YAML subset docs/openapi.yaml uses; throws with a line number otherwise. */
export function parseYaml(text) {
    const lines = text.split(/\r?\n/).map((raw, i) => ({ raw, no: i + 1 }));
    let pos = 0;

    const fail = (no, msg) => {
        throw new Error(`openapi.yaml line ${no}: ${msg}`);
    };
    const indentOf = (s) => s.match(/^ */)[0].length;
    // Drops a trailing comment (a # after whitespace, outside quotes).
    const stripComment = (s) => {
        let q = null;
        for (let i = 0; i < s.length; i++) {
            const c = s[i];
            if (q) {
                if (c === q) {
                    if (q === "'" && s[i + 1] === "'") i++;
                    else q = null;
                } else if (q === '"' && c === '\\') i++;
            } else if (c === "'" || c === '"') {
                if (i === 0 || /[\s\[{,:-]/.test(s[i - 1])) q = c;
            } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) {
                return s.slice(0, i).trimEnd();
            }
        }
        return s.trimEnd();
    };
    const skipBlank = () => {
        while (pos < lines.length && stripComment(lines[pos].raw).trim() === '') pos++;
    };
    const peek = () => {
        skipBlank();
        if (pos >= lines.length) return null;
        const l = lines[pos];
        const s = stripComment(l.raw);
        if (/^\t/.test(s)) fail(l.no, 'tabs are not allowed for indentation');
        return { ind: indentOf(s), text: s.trim(), no: l.no };
    };
    const isSeqItem = (t) => t === '-' || t.startsWith('- ');

    // Splits `key: rest` at the first ': ' (or final ':') outside quotes and brackets.
    const splitKey = (t) => {
        let i = 0;
        let key;
        if (t[0] === "'" || t[0] === '"') {
            const end = scanQuoted(t, 0);
            key = parseScalarToken(t.slice(0, end));
            i = end;
            while (t[i] === ' ') i++;
            if (t[i] !== ':') return null;
            return { key, rest: t.slice(i + 1).trim() };
        }
        for (; i < t.length; i++) {
            if (t[i] === ':' && (i + 1 === t.length || t[i + 1] === ' ')) {
                return { key: t.slice(0, i).trim(), rest: t.slice(i + 1).trim() };
            }
        }
        return null;
    };

    function parseNode(minIndent) {
        const p = peek();
        if (!p || p.ind < minIndent) return null;
        return isSeqItem(p.text) ? parseSeq(p.ind) : parseMap(p.ind);
    }

    function parseMap(ind) {
        const out = {};
        for (;;) {
            const p = peek();
            if (!p || p.ind < ind) return out;
            if (p.ind > ind) fail(p.no, `unexpected indent (${p.ind}, expected ${ind})`);
            if (isSeqItem(p.text)) return out; // a sequence at the parent key's indent ends here
            const kv = splitKey(p.text);
            if (!kv) fail(p.no, `expected "key: value", got ${JSON.stringify(p.text)}`);
            if (Object.hasOwn(out, kv.key)) fail(p.no, `duplicate key ${JSON.stringify(kv.key)}`);
            pos++;
            out[kv.key] = parseValue(kv.rest, ind, p.no);
        }
    }

    function parseSeq(ind) {
        const out = [];
        for (;;) {
            const p = peek();
            if (!p || p.ind < ind) return out;
            if (p.ind > ind) fail(p.no, 'unexpected indent in a sequence');
            if (!isSeqItem(p.text)) return out;
            const rest = p.text.slice(1).trim();
            if (rest === '') {
                pos++;
                out.push(parseNode(ind + 1));
            } else if (!/^[\[{'"]/.test(rest) && splitKey(rest)) {
                // `- key: value` opens a mapping whose keys sit two columns in.
                const l = lines[pos];
                l.raw = ' '.repeat(ind + 2) + stripComment(l.raw).trim().slice(1).trim();
                out.push(parseMap(ind + 2));
            } else if (/^['"]/.test(rest) && splitKey(rest)) {
                const l = lines[pos];
                l.raw = ' '.repeat(ind + 2) + rest;
                out.push(parseMap(ind + 2));
            } else {
                pos++;
                out.push(parseValue(rest, ind, p.no, true));
            }
        }
    }

    function parseValue(rest, ind, no, inSeq = false) {
        if (rest === '') {
            const p = peek();
            if (!p) return null;
            if (p.ind > ind) return parseNode(ind + 1);
            if (!inSeq && p.ind === ind && isSeqItem(p.text)) return parseSeq(ind);
            return null;
        }
        if (/^[|>][+-]?$/.test(rest)) return parseBlockScalar(rest, ind);
        if (rest[0] === '&' || rest[0] === '*' || rest[0] === '!') fail(no, 'anchors, aliases and tags are not supported');
        if (rest[0] === '[' || rest[0] === '{') {
            const r = parseFlow(rest, 0, no);
            if (rest.slice(r.end).trim() !== '') fail(no, 'text after a flow collection');
            return r.value;
        }
        if (rest[0] === "'" || rest[0] === '"') {
            const end = scanQuoted(rest, 0);
            if (end < 0) fail(no, 'unterminated quoted string (multi-line quoted scalars are not supported)');
            if (rest.slice(end).trim() !== '') fail(no, 'text after a quoted string');
            return parseScalarToken(rest);
        }
        // A plain scalar must fit on its line.
        const p = peek();
        if (p && p.ind > ind && !inSeq) fail(p.no, 'multi-line plain scalars are not supported');
        return parseScalarToken(rest);
    }

    function parseBlockScalar(header, ind) {
        const folded = header[0] === '>';
        const chomp = header[1] || '';
        const body = [];
        let blockInd = -1;
        while (pos < lines.length) {
            const raw = lines[pos].raw;
            if (raw.trim() === '') {
                body.push('');
                pos++;
                continue;
            }
            const i = indentOf(raw);
            if (i <= ind) break;
            if (blockInd < 0) blockInd = i;
            if (i < blockInd) break;
            body.push(raw.slice(blockInd));
            pos++;
        }
        // Trailing blank lines belong to the chomping, not the content.
        let trailing = 0;
        while (body.length && body[body.length - 1] === '') {
            body.pop();
            trailing++;
        }
        let s;
        if (folded) {
            // Lines of one paragraph join with a space; a blank line is a line break.
            s = '';
            for (let k = 0; k < body.length; k++) {
                if (k === 0) s = body[k];
                else if (body[k] === '') s += '\n';
                else s += body[k - 1] === '' || /^\s/.test(body[k]) ? body[k] : ' ' + body[k];
            }
        } else {
            s = body.join('\n');
        }
        if (body.length === 0) return '';
        if (chomp === '-') return s;
        if (chomp === '+') return s + '\n'.repeat(trailing + 1);
        return s + '\n';
    }

    return parseNode(0);
}

function scanQuoted(s, i) {
    const q = s[i];
    for (let k = i + 1; k < s.length; k++) {
        if (q === "'" && s[k] === "'") {
            if (s[k + 1] === "'") k++;
            else return k + 1;
        } else if (q === '"') {
            if (s[k] === '\\') k++;
            else if (s[k] === '"') return k + 1;
        }
    }
    return -1;
}

function parseScalarToken(tok) {
    const t = tok.trim();
    if (t[0] === "'") return t.slice(1, -1).replace(/''/g, "'");
    if (t[0] === '"') {
        return t.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/g, (m, e) => {
            if (e[0] === 'x' || e[0] === 'u') return String.fromCharCode(parseInt(e.slice(1), 16));
            return { n: '\n', t: '\t', r: '\r', '0': '\0', '"': '"', '\\': '\\', '/': '/', ' ': ' ' }[e] ?? e;
        });
    }
    if (t === '' || t === '~' || t === 'null' || t === 'Null' || t === 'NULL') return null;
    if (/^(true|True|TRUE)$/.test(t)) return true;
    if (/^(false|False|FALSE)$/.test(t)) return false;
    if (/^[-+]?[0-9]+$/.test(t)) return Number(t);
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(t)) return Number(t);
    return t;
}

// Flow collections: [a, b], {k: v}, nested, with quoted or plain scalars.
function parseFlow(s, i, no) {
    const ws = () => {
        while (s[i] === ' ') i++;
    };
    const scalar = (stops) => {
        ws();
        if (s[i] === "'" || s[i] === '"') {
            const end = scanQuoted(s, i);
            if (end < 0) throw new Error(`openapi.yaml line ${no}: unterminated string`);
            const v = parseScalarToken(s.slice(i, end));
            i = end;
            return v;
        }
        let j = i;
        while (j < s.length && !stops.includes(s[j]) && !(s[j] === ':' && (s[j + 1] === ' ' || stops.includes(s[j + 1])))) j++;
        const v = parseScalarToken(s.slice(i, j));
        i = j;
        return v;
    };
    const value = (stops) => {
        ws();
        if (s[i] === '[' || s[i] === '{') {
            const r = parseFlow(s, i, no);
            i = r.end;
            return r.value;
        }
        return scalar(stops);
    };
    if (s[i] === '[') {
        i++;
        const out = [];
        ws();
        if (s[i] === ']') return { value: out, end: i + 1 };
        for (;;) {
            out.push(value(',]'));
            ws();
            if (s[i] === ',') i++;
            else if (s[i] === ']') return { value: out, end: i + 1 };
            else throw new Error(`openapi.yaml line ${no}: bad flow sequence near ${JSON.stringify(s.slice(i))}`);
        }
    }
    i++;
    const out = {};
    ws();
    if (s[i] === '}') return { value: out, end: i + 1 };
    for (;;) {
        const k = scalar(',}');
        ws();
        if (s[i] !== ':') throw new Error(`openapi.yaml line ${no}: bad flow mapping near ${JSON.stringify(s.slice(i))}`);
        i++;
        out[String(k)] = value(',}');
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === '}') return { value: out, end: i + 1 };
        else throw new Error(`openapi.yaml line ${no}: bad flow mapping near ${JSON.stringify(s.slice(i))}`);
    }
}

// ---------------------------------------------------------------- the C side

/** Routes from routes.c rows like {HTTP_GET, V1 "/merchants/:id", h_merchant_get}. */
function readRoutes() {
    const src = fs.readFileSync(ROUTES_PATH, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const macros = {};
    for (const m of src.matchAll(/^#define\s+(\w+)\s+"([^"]*)"/gm)) macros[m[1]] = m[2];
    const routes = [];
    const row = /\{\s*HTTP_([A-Z]+)\s*,\s*((?:\w+\s+)?)"([^"]*)"\s*,\s*(\w+)\s*\}/g;
    for (const m of src.matchAll(row)) {
        const prefixName = m[2].trim();
        if (prefixName && !(prefixName in macros)) throw new Error(`routes.c: unknown prefix macro ${prefixName}`);
        const raw = (prefixName ? macros[prefixName] : '') + m[3];
        routes.push({
            method: m[1].toLowerCase(),
            raw,
            path: raw.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}'),
            handler: m[4],
        });
    }
    return routes;
}

/** err.c: code → {status, name}. */
function readErrors() {
    const src = fs.readFileSync(ERR_PATH, 'utf8');
    const byCode = new Map();
    const byName = new Map();
    for (const m of src.matchAll(/\[(ERR_\w+)\]\s*=\s*\{\s*(\d+)\s*,\s*"([a-z_]+)"/g)) {
        byCode.set(m[3], { status: Number(m[2]), name: m[1] });
        byName.set(m[1], m[3]);
    }
    return { byCode, byName };
}

/** Every C function under src/*\/*.c: name → [{file, body}]. */
function readFunctions() {
    const fns = new Map();
    const srcDir = path.join(REPO, 'src');
    for (const dir of fs.readdirSync(srcDir, { withFileTypes: true })) {
        if (!dir.isDirectory()) continue;
        for (const f of fs.readdirSync(path.join(srcDir, dir.name))) {
            if (!f.endsWith('.c')) continue;
            const file = path.join(dir.name, f);
            const text = fs.readFileSync(path.join(srcDir, file), 'utf8');
            // clang-formatted definitions: the name and its parameters, then "{" alone on a line.
            const def = /^[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)\s*\(([^;{}]*?)\)\s*\n\{\n([\s\S]*?)\n\}$/gm;
            for (const m of text.matchAll(def)) {
                if (!fns.has(m[1])) fns.set(m[1], []);
                fns.get(m[1]).push({ file, body: m[3] });
            }
        }
    }
    return fns;
}

/** The ERR_ constants a handler passes straight to api_fail/api_fail_with/http_problem,
 * following every function it calls or names (callbacks) that is defined in src/. Calls
 * resolve to the same file first (static helpers). */
function handlerFacts(handler, fns) {
    const errs = new Set();
    let idem = false;
    const seen = new Set();
    const visit = (name, fromFile) => {
        const defs = fns.get(name);
        if (!defs) return;
        const local = defs.filter((d) => d.file === fromFile);
        for (const d of local.length ? local : defs) {
            const key = `${d.file}:${name}`;
            if (seen.has(key)) continue;
            seen.add(key);
            if (name === 'api_idem') idem = true;
            for (const m of d.body.matchAll(/\b(?:api_fail|api_fail_with|http_problem)\s*\(\s*\w+\s*,\s*(ERR_\w+)/g)) errs.add(m[1]);
            for (const m of d.body.matchAll(/\b([A-Za-z_]\w*)\b/g)) if (fns.has(m[1]) && m[1] !== name) visit(m[1], d.file);
        }
    };
    visit(handler, null);
    return { errs, idem };
}

// ---------------------------------------------------------------- the document

const docText = fs.readFileSync(DOC_PATH, 'utf8');
const doc = parseYaml(docText);
const routes = readRoutes();
const errors = readErrors();

function resolve(node) {
    let n = node;
    for (let hops = 0; n && typeof n === 'object' && typeof n.$ref === 'string'; hops++) {
        if (hops > 20) throw new Error(`$ref loop at ${node.$ref}`);
        n = refTarget(n.$ref);
    }
    return n;
}
function refTarget(ref) {
    assert.ok(ref.startsWith('#/'), `only local $refs: ${ref}`);
    let n = doc;
    for (const part of ref.slice(2).split('/')) {
        const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
        assert.ok(n && typeof n === 'object' && Object.hasOwn(n, key), `$ref does not resolve: ${ref}`);
        n = n[key];
    }
    return n;
}

/** [{path, method, op, pathItem}] for every operation in the document. */
function operations() {
    const out = [];
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
        for (const method of METHODS) if (item[method]) out.push({ path: p, method, op: item[method], pathItem: item });
    }
    return out;
}
const opKey = (method, p) => `${method.toUpperCase()} ${p}`;
const isPlanned = (op) => op['x-status'] === 'planned';

/** Stable codes a problem response lists: the schema's code enum/const, and `code`s in its description. */
function responseCodes(resp) {
    const codes = new Set();
    const walk = (s) => {
        if (!s || typeof s !== 'object') return;
        if (s.$ref) return; // the generic Problem (all codes) says nothing about this response
        const c = s.properties?.code;
        if (c) {
            if (c.const !== undefined) codes.add(c.const);
            for (const v of c.enum ?? []) codes.add(v);
        }
        for (const sub of [...(s.allOf ?? []), ...(s.oneOf ?? []), ...(s.anyOf ?? [])]) walk(sub);
    };
    walk(resp.content?.['application/problem+json']?.schema);
    for (const m of String(resp.description ?? '').matchAll(/`([a-z_]+)`/g)) if (errors.byCode.has(m[1])) codes.add(m[1]);
    return codes;
}

// ---------------------------------------------------------------- tests

describe('docs/openapi.yaml matches src/api/routes.c', () => {
    test('routes.c parses into a plausible route table', () => {
        assert.ok(routes.length >= 30, `only ${routes.length} routes found in routes.c: did its row format change?`);
        const seen = new Set();
        for (const r of routes) {
            const k = opKey(r.method, r.path);
            assert.ok(!seen.has(k), `routes.c lists ${k} twice`);
            seen.add(k);
        }
    });

    test('the document is OpenAPI 3.1 with paths', () => {
        assert.match(String(doc.openapi), /^3\.1\.\d+$/);
        assert.ok(doc.info?.title && doc.info?.version, 'info.title and info.version');
        assert.ok(doc.paths && typeof doc.paths === 'object');
    });

    test('every route in routes.c is documented with its method', () => {
        const missing = [];
        for (const r of routes) {
            const item = doc.paths[r.path];
            if (!item || !item[r.method]) missing.push(`${opKey(r.method, r.path)}  (routes.c: ${r.raw} → ${r.handler})`);
        }
        assert.deepEqual(missing, [], `routes missing from docs/openapi.yaml:\n  ${missing.join('\n  ')}`);
    });

    test('every documented path+method is served, unless marked x-status: planned', () => {
        const served = new Set(routes.map((r) => opKey(r.method, r.path)));
        const extra = [];
        const stale = [];
        for (const { path: p, method, op } of operations()) {
            const k = opKey(method, p);
            if (!served.has(k) && !isPlanned(op)) extra.push(k);
            if (served.has(k) && isPlanned(op)) stale.push(k);
        }
        assert.deepEqual(extra, [], `documented but not in routes.c (mark them x-status: planned or remove them):\n  ${extra.join('\n  ')}`);
        assert.deepEqual(stale, [], `served now, remove their x-status: planned:\n  ${stale.join('\n  ')}`);
    });

    test('x-status, when present, is "planned"', () => {
        for (const { path: p, method, op } of operations()) {
            if ('x-status' in op) assert.equal(op['x-status'], 'planned', opKey(method, p));
        }
    });
});

describe('docs/openapi.yaml is internally consistent', () => {
    test('every $ref resolves', () => {
        const bad = [];
        const walk = (n, where) => {
            if (Array.isArray(n)) n.forEach((v, i) => walk(v, `${where}/${i}`));
            else if (n && typeof n === 'object') {
                if (typeof n.$ref === 'string') {
                    try {
                        refTarget(n.$ref);
                    } catch {
                        bad.push(`${where}: ${n.$ref}`);
                    }
                }
                for (const [k, v] of Object.entries(n)) walk(v, `${where}/${k}`);
            }
        };
        walk(doc, '#');
        assert.deepEqual(bad, []);
    });

    test('the shared object schemas exist', () => {
        const names = ['User', 'Merchant', 'Category', 'CategoryNode', 'Product', 'Sku', 'Cart', 'Checkout', 'Order',
            'LedgerEntry', 'Ledger', 'MerchantList', 'ProductList', 'OrderList', 'Problem'];
        for (const n of names) assert.ok(doc.components?.schemas?.[n], `components.schemas.${n}`);
        for (const n of ['MerchantList', 'ProductList', 'OrderList', 'Ledger']) {
            const s = doc.components.schemas[n];
            assert.ok(s.properties?.items && s.properties?.next_cursor, `${n} has items and next_cursor`);
        }
    });

    test('operationIds are unique; each operation has a 2xx answer and says who may call it', () => {
        const ids = new Set();
        for (const { path: p, method, op } of operations()) {
            const k = opKey(method, p);
            assert.ok(op.operationId, `${k}: operationId`);
            assert.ok(!ids.has(op.operationId), `${k}: duplicate operationId ${op.operationId}`);
            ids.add(op.operationId);
            assert.ok(Object.keys(op.responses ?? {}).some((s) => /^2\d\d$/.test(s)), `${k}: a 2xx response`);
            const access = [op['x-access']].flat();
            assert.ok(access.length && access.every((a) => typeof a === 'string'), `${k}: x-access`);
            const security = op.security ?? doc.security ?? [];
            const anonymousOk = security.length === 0 || security.some((s) => Object.keys(s).length === 0);
            if (access.includes('anonymous')) assert.deepEqual(op.security, [], `${k}: anonymous needs security: []`);
            else if (access.includes('optional')) assert.ok(anonymousOk && security.length > 1, `${k}: optional auth needs security [{}, {bearerAuth: []}]`);
            else assert.ok(!anonymousOk, `${k}: x-access ${access} needs bearer auth`);
        }
    });

    test('path parameters match the path templates', () => {
        for (const { path: p, method, op, pathItem } of operations()) {
            const k = opKey(method, p);
            const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
            const declared = [...(pathItem.parameters ?? []), ...(op.parameters ?? [])]
                .map(resolve)
                .filter((prm) => prm.in === 'path');
            for (const prm of declared) assert.equal(prm.required, true, `${k}: path parameter ${prm.name} must be required`);
            assert.deepEqual([...new Set(declared.map((prm) => prm.name))].sort(), inPath, `${k}: declared path parameters`);
        }
    });

    test('error responses are problem+json and their codes exist in err.c with that status', () => {
        const problemCodes = new Set(doc.components.schemas.Problem.properties.code.enum);
        const known = new Set([...errors.byCode.keys()].filter((c) => c !== 'ok'));
        assert.deepEqual([...problemCodes].sort(), [...known].sort(), 'Problem.code enum = the codes in src/domain/err.c');
        for (const { path: p, method, op } of operations()) {
            for (const [status, r] of Object.entries(op.responses)) {
                if (!/^[45]\d\d$/.test(status)) continue;
                const where = `${opKey(method, p)} ${status}`;
                const resp = resolve(r);
                assert.ok(resp.content?.['application/problem+json'], `${where}: application/problem+json`);
                const codes = responseCodes(resp);
                assert.ok(codes.size > 0, `${where}: list its codes (enum/const or \`code\` in the description)`);
                for (const c of codes) {
                    assert.ok(known.has(c), `${where}: unknown code ${c}`);
                    assert.equal(String(errors.byCode.get(c).status), status, `${where}: ${c} is ${errors.byCode.get(c).status} in err.c`);
                }
            }
        }
    });

    test('idempotent operations declare Idempotency-Key and Idempotent-Replayed', () => {
        for (const { path: p, method, op, pathItem } of operations()) {
            const k = opKey(method, p);
            const params = [...(pathItem.parameters ?? []), ...(op.parameters ?? [])].map(resolve);
            const hasKey = params.some((prm) => prm.in === 'header' && prm.name === 'Idempotency-Key');
            const ok2xx = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s)).map(([, r]) => resolve(r));
            if (hasKey) {
                for (const r of ok2xx) assert.ok(r.headers?.['Idempotent-Replayed'], `${k}: 2xx declares Idempotent-Replayed`);
            }
            if (method === 'post' && op.responses['201']) assert.ok(hasKey, `${k}: a creating POST takes Idempotency-Key`);
        }
    });
});

describe('the document lists what the handlers do', () => {
    const fns = readFunctions();
    for (const r of routes) {
        const k = opKey(r.method, r.path);
        test(`${k} (${r.handler})`, (t) => {
            const op = doc.paths[r.path]?.[r.method];
            if (!op) return t.skip('not documented (reported above)');
            if (!fns.has(r.handler)) return t.skip(`${r.handler} not found in src/`);
            const facts = handlerFacts(r.handler, fns);
            const params = [...(doc.paths[r.path].parameters ?? []), ...(op.parameters ?? [])].map(resolve);
            const hasKey = params.some((prm) => prm.in === 'header' && prm.name === 'Idempotency-Key');
            assert.equal(hasKey, facts.idem, facts.idem ? 'the handler honours Idempotency-Key: declare it' : 'the handler ignores Idempotency-Key: do not declare it');
            const listed = new Set();
            for (const [status, resp] of Object.entries(op.responses)) {
                if (/^[45]\d\d$/.test(status)) for (const c of responseCodes(resolve(resp))) listed.add(c);
            }
            const skip = new Set([...GLOBAL_CODES, ...(UNREACHABLE[k] ?? [])]);
            const missing = [...facts.errs]
                .map((e) => errors.byName.get(e))
                .filter((c) => c && !skip.has(c) && !listed.has(c));
            assert.deepEqual([...new Set(missing)].sort(), [], `codes the handler can answer that ${k} does not list`);
        });
    }
});

describe('the YAML reader', () => {
    let python = null;
    try {
        execFileSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' });
        python = 'python3';
    } catch {
        /* no PyYAML: the cross-check is skipped */
    }
    test('agrees with PyYAML on docs/openapi.yaml', { skip: python ? false : 'python3 with PyYAML not installed' }, () => {
        const out = execFileSync(python, ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding="utf-8"))))', DOC_PATH], {
            encoding: 'utf8',
            maxBuffer: 64 << 20,
        });
        assert.deepEqual(doc, JSON.parse(out));
    });
    test('reads the constructs it claims to', () => {
        const y = parseYaml(
            [
                'a: 1 # comment',
                "b: 'it''s: x'",
                'c: [x, "y z", {k: v, n: null}]',
                'd:',
                '  - e: 1',
                '    f: [1, 2]',
                '  - plain',
                '  - {}',
                'g: |',
                '  line one',
                '  line two',
                '',
                'h: "\\x41"',
                "'200':",
                '  $ref: "#/x"',
            ].join('\n'),
        );
        assert.deepEqual(y, {
            a: 1,
            b: "it's: x",
            c: ['x', 'y z', { k: 'v', n: null }],
            d: [{ e: 1, f: [1, 2] }, 'plain', {}],
            g: 'line one\nline two\n',
            h: 'A',
            200: { $ref: '#/x' },
        });
    });
});
