// Types of scripts/build.mjs for the TypeScript tests and benchmarks that import it.
import type { BuildOptions, BuildResult } from 'esbuild';
export const root: string;
export function bundle(options: BuildOptions): Promise<BuildResult>;
export function buildAll(): Promise<void>;
export function buildTypes(): void;
