// Vite build of souk's single-page app (storefront, merchant console, operator console).
// `scripts/build-web` runs it; the output in web/dist is served by `souk serve`.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

// @fontsource lists a .woff fallback after each .woff2; every browser we target reads
// woff2, so dropping the fallback halves the fonts copied into dist (~200 files).
function woff2Only() {
    return {
        name: 'souk-woff2-only',
        enforce: 'pre',
        transform(code, id) {
            if (/@fontsource[\\/]noto-sans-sc[\\/].*\.css$/.test(id)) {
                return code.replace(/,\s*url\([^)]*\.woff\)\s*format\('woff'\)/g, '');
            }
            return null;
        },
    };
}

export default defineConfig({
    root,
    base: '/',
    plugins: [woff2Only(), preact()],
    build: {
        outDir: 'dist',
        emptyOutDir: true,
        // Fonts stay separate files so a page loads only the unicode ranges it shows.
        assetsInlineLimit: 0,
        chunkSizeWarningLimit: 800,
    },
    server: {
        // `npm run dev` against a running souk (SOUK_URL, default the demo's address).
        proxy: { '/api': process.env.SOUK_URL || 'http://127.0.0.1:8080' },
    },
});
