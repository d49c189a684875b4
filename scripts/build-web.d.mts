// Types for scripts/build-web.mjs (plain JS so `node scripts/build-web.mjs` runs without a compiler).
export declare const webDir: string;
export declare function buildWeb(options?: { outdir?: string; minify?: boolean }): Promise<{ outdir: string; outputs: string[] }>;
