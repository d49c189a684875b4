// Where the golden cases are (computed outside this project, by numpy): $GOLDEN_DIR, else the
// workplace's ../shared/golden beside the checkout, else the copy committed in test/golden (the
// same files, so a clone elsewhere still has its outside oracle).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const shared = fileURLToPath(new URL('../../../shared/golden/', import.meta.url));
const committed = fileURLToPath(new URL('../golden/', import.meta.url));

export const GOLDEN_DIR = process.env.GOLDEN_DIR ?? (existsSync(`${shared}cases.json`) ? shared : committed);
