/**
 * YAML loading that remembers where every mapping, sequence and key came from.
 *
 * YAML 1.1, as Ansible reads it: `yes`/`no`/`on`/`off` are booleans.
 * The result is plain JS data (objects, arrays, scalars). Positions live in a WeakMap
 * keyed by the objects and arrays themselves, so they travel with the data through
 * validation and planning without a wrapper type.
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Alias, type Node, type Document } from 'yaml';
import { InputError, type SourcePos } from './source.js';

interface Located {
  at: SourcePos;
  /** Mapping keys: where each key stands. Sequences: where each item starts (by index). */
  children: Map<string, SourcePos>;
}

const positions = new WeakMap<object, Located>();

/** Where `container` starts, or where its key / item `key` is. */
export function positionOf(container: unknown, key?: string | number): SourcePos | undefined {
  if (container === null || typeof container !== 'object') return undefined;
  const located = positions.get(container);
  if (!located) return undefined;
  if (key === undefined) return located.at;
  return located.children.get(String(key)) ?? located.at;
}

/** Copy the position of `from` onto `to` (for objects rebuilt from loaded ones). */
export function copyPosition(from: object, to: object): void {
  const located = positions.get(from);
  if (located) positions.set(to, located);
}

/** Record a position for an object built by hand (INI inventories, synthesized tasks). */
export function setPosition(target: object, at: SourcePos): void {
  positions.set(target, { at, children: positions.get(target)?.children ?? new Map() });
}

export function parseYaml(text: string, file: string): unknown[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true, version: '1.1' });
  const docs: Document[] = Array.isArray(parsed) ? parsed : [parsed as unknown as Document];
  const pos = (offset: number | undefined): SourcePos => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { file, line, col };
  };
  return docs.map((doc) => {
    const problem = doc.errors[0];
    if (problem) {
      const at = pos(problem.pos[0]);
      const line = text.split('\n')[at.line - 1] ?? '';
      const hint = /^\s*\t/.test(line) ? 'a tab indents this line: YAML allows only spaces for indentation' : 'check indentation and quoting near this line';
      throw new InputError(`invalid YAML: ${problem.message.split('\n')[0]}`, at, hint);
    }
    return toPlain(doc.contents as Node | null, doc, pos);
  });
}

/** Load every document of a YAML file (a multi-document manifest gives several). */
export function loadYamlDocuments(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseYaml(text, file);
}

/** Load a single-document YAML file; an empty file gives `null`. */
export function loadYamlFile(file: string): unknown {
  const docs = loadYamlDocuments(file);
  if (docs.length > 1) {
    throw new InputError('expected one YAML document, found several', { file, line: 1, col: 1 });
  }
  return docs[0] ?? null;
}

function toPlain(node: Node | null, doc: Document, pos: (offset: number | undefined) => SourcePos): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPlain((node as Alias).resolve(doc) as Node, doc, pos);
  if (isScalar(node)) return node.value;
  if (isMap(node)) {
    const result: Record<string, unknown> = {};
    const children = new Map<string, SourcePos>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const rawKey = isScalar(keyNode) ? keyNode.value : keyNode === null ? null : String(keyNode);
      const key = String(rawKey);
      if (key === '<<') {
        // Merge keys: the merged mapping's keys, overridden by this mapping's own keys.
        const merged = toPlain(pair.value as Node, doc, pos);
        for (const source of Array.isArray(merged) ? merged : [merged]) {
          if (source && typeof source === 'object') {
            for (const [k, v] of Object.entries(source)) if (!(k in result)) result[k] = v;
          }
        }
        continue;
      }
      result[key] = toPlain(pair.value as Node | null, doc, pos);
      children.set(key, pos(keyNode?.range?.[0]));
    }
    positions.set(result, { at: pos(node.range?.[0]), children });
    return result;
  }
  if (isSeq(node)) {
    const children = new Map<string, SourcePos>();
    const result = node.items.map((item, index) => {
      children.set(String(index), pos((item as Node | null)?.range?.[0]));
      return toPlain(item as Node | null, doc, pos);
    });
    positions.set(result, { at: pos(node.range?.[0]), children });
    return result;
  }
  return null;
}
