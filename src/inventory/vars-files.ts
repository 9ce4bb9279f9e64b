/**
 * `group_vars/` and `host_vars/`, found as Ansible's `host_group_vars` plugin finds them:
 * for a name, the first of `name` (a file, or a directory), `name.yml`, `name.yaml`,
 * `name.json` that exists. A directory's files (no extension, yml, yaml, json; hidden
 * files and `~` backups skipped; subdirectories walked) merge in name order.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InputError } from '../input-error.js';
import { parseYaml, positionOf } from '../yaml.js';

export type VarsKind = 'group_vars' | 'host_vars';
type Vars = Record<string, unknown>;

const EXTENSIONS = ['', '.yml', '.yaml', '.json'];

/** Reads each file once; `hostVariables` asks for the same groups for every host. */
export class VarsFileCache {
  private readonly files = new Map<string, Vars>();
  private readonly lookups = new Map<string, Vars | undefined>();

  /** Variables for `name` under `dir/kind/`, or undefined when there are none. */
  varsFor(dir: string, kind: VarsKind, name: string): Vars | undefined {
    const base = join(dir, kind, name);
    if (!this.lookups.has(base)) this.lookups.set(base, this.find(base));
    return this.lookups.get(base);
  }

  private find(base: string): Vars | undefined {
    for (const ext of EXTENSIONS) {
      const path = base + ext;
      const stat = statOrUndefined(path);
      if (!stat) continue;
      if (!stat.isDirectory()) return this.read(path);
      const merged: Vars = {};
      for (const file of varsFilesIn(path)) Object.assign(merged, this.read(file));
      return merged;
    }
    return undefined;
  }

  private read(file: string): Vars {
    let vars = this.files.get(file);
    if (!vars) {
      vars = readVarsFile(file);
      this.files.set(file, vars);
    }
    return vars;
  }
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function varsFilesIn(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const path = join(dir, name);
    const ext = extname(name);
    const stat = statOrUndefined(path);
    if (stat?.isDirectory() && !ext) found.push(...varsFilesIn(path));
    else if (stat?.isFile() && EXTENSIONS.includes(ext)) found.push(path);
  }
  return found;
}

function readVarsFile(file: string): Vars {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read variables file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (text.startsWith('$ANSIBLE_VAULT;')) {
    throw new InputError('vault-encrypted variables files are not supported', { file, line: 1, col: 1 });
  }
  const docs = parseYaml(text, file);
  if (docs.length > 1) throw new InputError('expected one YAML document, found several', { file, line: 1, col: 1 });
  const data = docs[0] ?? null;
  if (data === null) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError(
      `a variables file must be a mapping of names to values, got ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`,
      positionOf(data) ?? { file, line: 1, col: 1 },
    );
  }
  return data as Vars;
}
