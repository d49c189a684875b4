// The package version, written into every output file's __metadata__ so a result can be traced.
// A test keeps it equal to package.json's (bundles then need no JSON import).
export const PACKAGE_VERSION = '0.1.0';
