/**
 * `loadInventory(sources)`: every `-i` source in order, as Ansible combines them.
 *
 * A source is an inventory file (INI, or YAML/JSON by extension or by content), a
 * directory (every inventory file in it, recursively, in name order, skipping what
 * Ansible skips), or an inline list `host1,host2,` (anything that is not a path and has a
 * comma). Files and directories contribute their `group_vars/` and `host_vars/`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError } from '../input-error.js';
import { parseYaml } from '../yaml.js';
import { HostEntryError, parseHostEntry } from './host-ranges.js';
import { parseIniInventory } from './ini.js';
import { addHosts, emptyInventory, reconcile } from './model.js';
import type { Inventory } from './types.js';
import { parseYamlInventory } from './yaml-inventory.js';

/** Ansible's INVENTORY_IGNORE_EXTS default. */
const IGNORED_EXTENSIONS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.cfg', '.retry'];
/** Directory entries Ansible never treats as inventory. */
const IGNORED_NAMES = /^(\.|group_vars$|host_vars$|vars_plugins$)/;
const YAML_EXTENSIONS = ['.yml', '.yaml', '.json'];

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export function loadInventory(sources: string[]): Inventory {
  const inv = emptyInventory();
  for (const source of sources) {
    const stat = statOf(source);
    if (!stat && source.includes(',')) {
      addInlineHosts(inv, source);
      continue;
    }
    if (!stat) {
      throw new InputError(`inventory source '${source}' does not exist`, undefined, "a list of hosts needs a comma, even for one host: -i 'host1,'");
    }
    const path = resolve(source);
    if (stat.isDirectory()) {
      addVarsDir(inv, path);
      for (const file of inventoryFilesIn(path)) parseInventoryFile(inv, file);
    } else {
      addVarsDir(inv, dirname(path));
      parseInventoryFile(inv, path);
    }
  }
  return reconcile(inv);
}

function addVarsDir(inv: Inventory, dir: string): void {
  if (!inv.varsDirs.includes(dir)) inv.varsDirs.push(dir);
}

function addInlineHosts(inv: Inventory, list: string): void {
  for (const item of list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    try {
      const entry = parseHostEntry(item);
      addHosts(inv, 'ungrouped', entry.names, {}, { port: entry.port });
    } catch (error) {
      if (error instanceof HostEntryError) throw new InputError(`in inventory list '${list}': ${error.message}`);
      throw error;
    }
  }
}

/** Inventory files under a directory, recursively, in name order. */
function inventoryFilesIn(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (IGNORED_NAMES.test(name) || IGNORED_EXTENSIONS.some((ext) => name.endsWith(ext))) continue;
    const path = join(dir, name);
    const stat = statOf(path);
    if (stat?.isDirectory()) files.push(...inventoryFilesIn(path));
    else if (stat?.isFile()) files.push(path);
  }
  return files;
}

/**
 * YAML when the extension says so, or when the first meaningful line is `---` or a
 * mapping key (`all:`), which no INI inventory line can be.
 */
function looksLikeYaml(file: string, text: string): boolean {
  if (YAML_EXTENSIONS.includes(extname(file).toLowerCase())) return true;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    return line.startsWith('---') || line.startsWith('{') || /^[^\s[=]+:(\s|$)/.test(raw);
  }
  return false;
}

function parseInventoryFile(inv: Inventory, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new InputError(`cannot read inventory ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (text.startsWith('#!')) {
    throw new InputError(
      `${basename(file)} is a dynamic inventory script, which tsrun does not run`,
      { file, line: 1, col: 1 },
      'write its output to a YAML or INI inventory file',
    );
  }
  inv.sources.push(file);
  if (looksLikeYaml(file, text)) {
    const docs = parseYaml(text, file);
    if (docs.length > 1) throw new InputError('expected one YAML document, found several', { file, line: 1, col: 1 });
    parseYamlInventory(inv, docs[0] ?? null, file);
  } else {
    parseIniInventory(inv, text, file);
  }
}
