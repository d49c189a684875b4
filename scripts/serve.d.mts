// Types for scripts/serve.mjs (plain JS so `node scripts/serve.mjs` runs without a compiler).
import type { Server } from 'node:http';
export declare const MIME: Record<string, string>;
/** localhost, 127.0.0.1 and [::1]: the Host names served without --host. */
export declare const LOOPBACK_HOSTS: string[];
/** The lower-cased name of a Host header without its port; null when missing or malformed. */
export declare function hostName(header: string | undefined): string | null;
/** The name and port (null when absent) of a Host header; null when missing or malformed. */
export declare function hostAndPort(header: string | undefined): { name: string; port: number | null } | null;
/** The Host header values of a request's raw headers, in order. */
export declare function hostHeaders(rawHeaders: string[]): string[];
/** The decoded request path; null when malformed (bad percent-encoding, a NUL, not absolute). */
export declare function requestPath(url: string | undefined): string | null;
export declare function parseServeArgs(argv: string[], env?: Record<string, string | undefined>): { dir: string | undefined; allowedHosts: string[] };
/**
 * Serves `dir` on `host` (the listen address, default 127.0.0.1). Requests are answered only when
 * their Host header names localhost, 127.0.0.1, [::1], the listen address or one of
 * `allowedHosts` (any port); others get 421.
 */
export declare function serve(options?: { dir?: string; port?: number; host?: string; allowedHosts?: string[] }): Promise<{ server: Server; url: string; close(): Promise<void> }>;
