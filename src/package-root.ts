import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * Returns the folder that holds Porchlight's package.json. Sources run from `src/` under vitest and
 * from `dist/src/` after the build, so paths to `build/` and `migrations/` are resolved from here.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;

  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'porchlight') {
      cached = folder;
      return folder;
    }
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`porchlight: no package.json named "porchlight" above ${import.meta.url}`);
    folder = parent;
  }
}
