/**
 * The lab is not the product: no module under src/ imports anything under lab/ (the lab
 * may use the product, never the reverse), and the package npm would publish holds none
 * of the lab (nor the declarations the lab is typed against).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { REPO_ROOT } from '../harness/hosts.js';

const LAB = path.join(REPO_ROOT, 'lab');

/** Every .ts file below dir. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** "file: specifier" for each import, re-export or dynamic import of the file that reaches into lab/. */
function labImports(file: string, text: string): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith('.') && (path.resolve(path.dirname(file), specifier) + path.sep).startsWith(LAB + path.sep))
    .map((specifier) => `${path.relative(REPO_ROOT, file)}: ${specifier}`);
}

test('no module under src/ imports the lab', () => {
  const files = sources(path.join(REPO_ROOT, 'src'));
  expect(files.length).toBeGreaterThan(50);
  expect(files.flatMap((file) => labImports(file, readFileSync(file, 'utf8')))).toEqual([]);
});

test('the check sees every form of import into the lab', () => {
  const file = path.join(REPO_ROOT, 'src/cli/main.ts');
  const text = [
    "import { labUp } from '../../lab/src/lab.js';",
    "import type { TestHost } from '../../lab/src/testhosts.js';",
    "export { labDown } from '../../lab/src/lab.js';",
    "const built = await import('../../lab/dist/lab.js');",
    "import { command } from '../transport/quote.js';",
    "import { z } from 'zod';",
    "import '../../laboratory/notes.js';",
  ].join('\n');
  expect(labImports(file, text)).toEqual([
    'src/cli/main.ts: ../../lab/src/lab.js',
    'src/cli/main.ts: ../../lab/src/testhosts.js',
    'src/cli/main.ts: ../../lab/src/lab.js',
    'src/cli/main.ts: ../../lab/dist/lab.js',
  ]);
});

test('npm pack ships the product, without the lab or type declarations', async () => {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT });
  const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>).flatMap((pack) => pack.files.map((file) => file.path));
  expect(files).toContain('bin/tsrun');
  expect(files).toContain('dist/cli/main.js');
  expect(files.filter((file) => file.startsWith('lab/') || file.includes('/lab/') || file.endsWith('.d.ts'))).toEqual([]);
});
