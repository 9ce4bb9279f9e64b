/**
 * YAML loading that remembers where every mapping, sequence and key came from.
 *
 * YAML 1.1, as Ansible reads it: `yes`/`no`/`on`/`off` are booleans.
 * The result is plain JS data (objects, arrays, scalars). Positions live in a WeakMap
 * keyed by the objects and arrays themselves, so they travel with the data through
 * validation and planning without a wrapper type.
 */
import { readFileSync } from 'node:fs';
import { Composer, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type Alias, type CST, type Node, type Document } from 'yaml';
import { InputError, type SourcePos } from './input-error.js';

/**
 * Limits that keep hostile or broken YAML from hanging or crashing the loader, each far
 * above what real playbooks and inventories need. Ansible (PyYAML) crashes with a Python
 * RecursionError at about 500 levels of nesting.
 */
export const YAML_LIMITS = {
  /** Nesting of mappings and sequences, counting what aliases bring in. */
  depth: 256,
  /** Nodes that aliases may copy in, over a whole document (an alias bomb copies billions). */
  aliasNodes: 100_000,
  /** Bytes of one file: parsing keeps the whole syntax tree, about 120 bytes of memory per byte of YAML. */
  fileBytes: 8 * 1024 * 1024,
};

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

export interface YamlOptions {
  /** '1.1' (the default) reads YAML as Ansible's files are read; '1.2' as Kubernetes manifests are. */
  version?: '1.1' | '1.2';
  /** A key given twice is an error (the default), or the last one wins (as PyYAML's safe_load). */
  uniqueKeys?: boolean;
}

/** Every document of `text`, as plain data with positions, within YAML_LIMITS; `file` names it in errors. */
export function parseYaml(text: string, file: string, options: YamlOptions = {}): unknown[] {
  text = text.replace(/^\uFEFF/, ''); // a byte-order mark, as editors on Windows write it
  const bytes = Buffer.byteLength(text);
  if (bytes > YAML_LIMITS.fileBytes) {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    throw new InputError(
      `YAML file of ${mib(bytes)} is larger than the limit of ${mib(YAML_LIMITS.fileBytes)}`,
      { file, line: 1, col: 1 },
      'split it into several files',
    );
  }
  const lineCounter = new LineCounter();
  const pos = (offset: number | undefined): SourcePos => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { file, line, col };
  };
  const composer = new Composer({ merge: true, prettyErrors: false, uniqueKeys: options.uniqueKeys ?? true, version: options.version ?? '1.1' });
  const docs: Document[] = Array.from(composer.compose(checkedTokens(text, lineCounter, pos)));
  return docs.map((doc) => {
    const problem = doc.errors[0];
    if (problem) {
      const at = pos(problem.pos[0]);
      const line = text.split('\n')[at.line - 1] ?? '';
      const hint = /^\s*\t/.test(line) ? 'a tab indents this line: YAML allows only spaces for indentation' : 'check indentation and quoting near this line';
      throw new InputError(`invalid YAML: ${problem.message.split('\n')[0]}`, at, hint);
    }
    const context: PlainContext = { doc, pos, ancestors: new Set(), aliasTargets: new Map(), aliasNodes: 0 };
    return toPlain(doc.contents as Node | null, context, 0);
  });
}

function depthError(at: SourcePos): InputError {
  return new InputError(`YAML nested more than ${YAML_LIMITS.depth} levels deep`, at, 'flatten the data; no playbook or inventory needs this much nesting');
}

/**
 * The CST of `text`, each document checked for depth before it is composed: composing
 * recurses once per level. The parser keeps its own stack, which also stops a deep input
 * early (parsing gets slow as its stack grows); the walk of each document is exact.
 */
function* checkedTokens(text: string, lineCounter: LineCounter, pos: (offset: number | undefined) => SourcePos): Generator<CST.Token> {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const check = (token: CST.Token): CST.Token => {
    checkDepth(token, pos);
    return token;
  };
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) yield check(token);
    if (parser.stack.length > 2 * YAML_LIMITS.depth + 2) throw depthError(pos(parser.offset));
  }
  for (const token of parser.end()) yield check(token);
}

/** Walks a CST document with an explicit stack: the input may be nested far deeper than the JS stack allows. */
function checkDepth(token: CST.Token, pos: (offset: number | undefined) => SourcePos): void {
  const stack: Array<{ token: CST.Token | undefined; depth: number }> = [{ token, depth: 0 }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { token: current, depth } = top;
    if (!current) continue;
    if (current.type === 'document') stack.push({ token: current.value, depth });
    else if (current.type === 'block-map' || current.type === 'block-seq' || current.type === 'flow-collection') {
      if (depth + 1 > YAML_LIMITS.depth) throw depthError(pos(current.offset));
      for (const item of current.items) {
        if ('key' in item) stack.push({ token: item.key ?? undefined, depth: depth + 1 });
        stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
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

interface PlainContext {
  doc: Document;
  pos: (offset: number | undefined) => SourcePos;
  /** Collections being converted, to catch an alias to one of its own ancestors. */
  ancestors: Set<Node>;
  /** `Alias.resolve` searches the whole document: once per alias is enough. */
  aliasTargets: Map<Alias, Node | undefined>;
  /** Nodes copied in by aliases so far, and the outermost alias being expanded now. */
  aliasNodes: number;
  expanding?: Alias;
}

function toPlain(node: Node | null, context: PlainContext, depth: number): unknown {
  if (node === null || node === undefined) return null;
  const { pos } = context;
  if (context.expanding && ++context.aliasNodes > YAML_LIMITS.aliasNodes) {
    throw new InputError(
      `YAML aliases expand to more than ${YAML_LIMITS.aliasNodes} nodes`,
      pos(context.expanding.range?.[0]),
      'an alias repeating an alias of an alias grows exponentially (an "alias bomb"); write the data out or use fewer levels',
    );
  }
  if (isAlias(node)) {
    const aliasNode = node as Alias;
    if (!context.aliasTargets.has(aliasNode)) context.aliasTargets.set(aliasNode, aliasNode.resolve(context.doc) as Node | undefined);
    const target = context.aliasTargets.get(aliasNode) ?? null;
    if (target && context.ancestors.has(target)) {
      throw new InputError(`YAML alias *${aliasNode.source} refers to a node that contains it`, pos(node.range?.[0]), 'a recursive alias would expand forever');
    }
    const outer = context.expanding;
    context.expanding ??= aliasNode;
    try {
      return toPlain(target, context, depth);
    } finally {
      context.expanding = outer;
    }
  }
  if (isScalar(node)) return node.value;
  if (!isMap(node) && !isSeq(node)) return null;
  if (depth + 1 > YAML_LIMITS.depth) throw depthError(pos(node.range?.[0]));
  context.ancestors.add(node);
  try {
    return isMap(node) ? mapToPlain(node, context, depth + 1) : seqToPlain(node, context, depth + 1);
  } finally {
    context.ancestors.delete(node);
  }
}

function mapToPlain(node: Node & { items: Array<{ key: unknown; value: unknown }> }, context: PlainContext, depth: number): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const children = new Map<string, SourcePos>();
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    const rawKey = isScalar(keyNode) ? keyNode.value : keyNode === null ? null : String(keyNode);
    // With `merge`, the yaml package gives a merge key the value Symbol(<<).
    const key = typeof rawKey === 'symbol' ? (rawKey.description ?? '') : String(rawKey);
    if (key === '<<') {
      // Merge keys: the merged mapping's keys, overridden by this mapping's own keys.
      const merged = toPlain(pair.value as Node, context, depth);
      for (const source of Array.isArray(merged) ? merged : [merged]) {
        if (source && typeof source === 'object') {
          for (const [k, v] of Object.entries(source)) if (!(k in result)) result[k] = v;
        }
      }
      continue;
    }
    result[key] = toPlain(pair.value as Node | null, context, depth);
    children.set(key, context.pos(keyNode?.range?.[0]));
  }
  positions.set(result, { at: context.pos(node.range?.[0]), children });
  return result;
}

function seqToPlain(node: Node & { items: unknown[] }, context: PlainContext, depth: number): unknown[] {
  const children = new Map<string, SourcePos>();
  const result = node.items.map((item, index) => {
    children.set(String(index), context.pos((item as Node | null)?.range?.[0]));
    return toPlain(item as Node | null, context, depth);
  });
  positions.set(result, { at: context.pos(node.range?.[0]), children });
  return result;
}
