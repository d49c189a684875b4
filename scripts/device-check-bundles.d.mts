// Types of scripts/device-check-bundles.mjs for the test that imports it.
/** The options scripts/build-gpu.mjs bundles .gpu/ with. */
export const GPU_BUNDLE_OPTIONS: { minify: boolean; sourcemap: boolean; legalComments: 'none' };
/** Bundles cli.mjs, bench.mjs, ort-child.mjs, matmul-tune.mjs and attention-tune.mjs into `outdir`, with a node_modules link. */
export function bundleDeviceCheck(outdir: string): Promise<void>;
