// WGSL sources are imported as text: esbuild's `text` loader in bundles, a plugin in vitest.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
