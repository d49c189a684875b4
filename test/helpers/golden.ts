// Where the golden cases are: test/golden, committed with the project. They were computed outside
// it (float64, numpy; test/golden/README.md), so the tests have an oracle that does not share the
// project's own reference code.

import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('../golden/', import.meta.url));
