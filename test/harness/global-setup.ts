/**
 * Jest globalSetup: the shared test hosts, up once for the whole run.
 *
 * Jest loads this module with plain Node, outside its TypeScript module mapping, so it
 * imports no project file at run time: it transpiles the harness sources into
 * .test-hosts/.harness-build and imports them from there. globalTeardown gets the loaded
 * module through globalThis (Jest shares it between the two).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Lab from '../../src/lab/testhosts.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Kept equal to TEST_HOSTS_DIR and TEST_HOSTS_COUNT in hosts.ts, which tests import.
const TEST_HOSTS_DIR = path.join(REPO_ROOT, '.test-hosts');
const TEST_HOSTS_COUNT = 4;
const BUILD_DIR = path.join(TEST_HOSTS_DIR, '.harness-build');

export interface SharedTestHosts {
  lab: typeof Lab;
  stateDir: string;
  /** False when the hosts were already up (brought up by hand): they outlive the run. */
  startedHere: boolean;
}

/** Transpile a source file and every relative import it reaches; the path of its output. */
async function transpileTree(entry: string): Promise<string> {
  const ts = (await import('typescript')).default;
  const outputOf = (source: string) => path.join(BUILD_DIR, path.relative(REPO_ROOT, source)).replace(/\.ts$/, '.js');
  const seen = new Set<string>();
  const visit = async (source: string): Promise<void> => {
    if (seen.has(source)) return;
    seen.add(source);
    const text = await readFile(source, 'utf8');
    const { outputText } = ts.transpileModule(text, {
      fileName: source,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    await mkdir(path.dirname(outputOf(source)), { recursive: true });
    await writeFile(outputOf(source), outputText);
    for (const [, specifier] of text.matchAll(/from\s+['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      await visit(path.resolve(path.dirname(source), `${specifier}.ts`));
    }
  };
  await visit(entry);
  return outputOf(entry);
}

export default async function globalSetup(): Promise<void> {
  const built = await transpileTree(path.join(REPO_ROOT, 'src/lab/testhosts.ts'));
  const lab = (await import(pathToFileURL(built).href)) as typeof Lab;
  const status = lab.testHostsStatus(TEST_HOSTS_DIR);
  const alreadyUp = status?.length === TEST_HOSTS_COUNT && status.every((host) => host.up);
  await lab.startTestHosts({ count: TEST_HOSTS_COUNT, stateDir: TEST_HOSTS_DIR });
  const shared: SharedTestHosts = { lab, stateDir: TEST_HOSTS_DIR, startedHere: !alreadyUp };
  (globalThis as { tsrunTestHosts?: SharedTestHosts }).tsrunTestHosts = shared;
}
