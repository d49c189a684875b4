// Types for scripts/serve.mjs (plain JS so `node scripts/serve.mjs` runs without a compiler).
import type { Server } from 'node:http';
export declare const MIME: Record<string, string>;
export declare function serve(options?: { dir?: string; port?: number; host?: string }): Promise<{ server: Server; url: string; close(): Promise<void> }>;
