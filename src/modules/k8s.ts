/**
 * `k8s` (kubernetes.core.k8s): manage Kubernetes objects with `kubectl` on the target host.
 *
 * Round trips: one exec reads the current objects and a server-side dry-run apply of the
 * desired ones; `changed` comes from comparing the two (so re-applying an unchanged manifest
 * is not a change). At most one more exec applies (server-side, field manager) and waits.
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { InputError } from '../input-error.js';
import { parseYaml } from '../yaml.js';
import { z } from 'zod';
import { bool, int, moduleArgs, path, str } from './args.js';
import { command, quote } from '../transport/quote.js';
import { defineModule } from '../engine/apply.js';
import { failure, RemoteError, shellPath } from './remote-file.js';
import type { FileDiff, Plan, ReadContext } from './types.js';

const waitCondition = z.strictObject({
  type: str(),
  // A condition's status is the text True, False or Unknown; a YAML boolean is its text.
  status: z.union([z.string(), z.boolean()]).optional(),
  reason: str().optional(),
});

const k8sArgs = moduleArgs(
  {
    state: z.enum(['present', 'absent']).optional(),
    definition: z.unknown().optional(),
    src: path().optional(),
    template: z.union([z.string(), z.strictObject({ path: path() })]).optional(),
    name: str().optional(),
    namespace: str().optional(),
    kind: str().optional(),
    api_version: str().optional(),
    apply: bool().optional(),
    server_side_apply: z.strictObject({ field_manager: str().optional(), force_conflicts: bool().optional() }).optional(),
    force: bool().optional(),
    wait: bool().optional(),
    wait_condition: waitCondition.optional(),
    wait_timeout: int().pipe(z.number().positive()).optional(),
    wait_sleep: int().optional(),
    kubeconfig: path().optional(),
    context: str().optional(),
    delete_options: z.unknown().optional(),
    validate: z.unknown().optional(),
  },
  { aliases: { definition: ['resource_definition', 'inline'], api_version: ['api', 'version'] } },
);
export type K8sArgs = z.infer<typeof k8sArgs>;

export type K8sObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

const FIELD_MANAGER = 'tsrun';

const toYamlText = (object: K8sObject): string => stringify(object, { sortMapEntries: true });

function parseManifest(text: string, origin: string): K8sObject[] {
  let docs: unknown[];
  try {
    docs = parseYaml(text, origin, { version: '1.2', uniqueKeys: false });
  } catch (error) {
    throw new Error(error instanceof InputError ? error.describe() : String(error));
  }
  return docs.filter((value) => value !== null && value !== undefined).flatMap((value) => flatten(value, origin));
}

function flatten(value: unknown, origin: string): K8sObject[] {
  if (Array.isArray(value)) return value.flatMap((item) => flatten(item, origin));
  if (typeof value === 'string') return parseManifest(value, origin);
  if (value === null || typeof value !== 'object') throw new Error(`${origin}: expected a Kubernetes object`);
  const object = value as K8sObject;
  if (object.kind === 'List' && Array.isArray(object.items)) return flatten(object.items, origin);
  return [object];
}

function desiredObjects(args: K8sArgs, ctx: ReadContext): K8sObject[] {
  let objects: K8sObject[];
  if (args.template !== undefined) {
    const path = ctx.findLocalFile('templates', typeof args.template === 'string' ? args.template : args.template.path);
    objects = parseManifest(ctx.render(readFileSync(path, 'utf8'), path), path);
  } else if (args.src !== undefined) {
    const path = ctx.findLocalFile('files', args.src);
    objects = parseManifest(readFileSync(path, 'utf8'), path);
  } else if (args.definition !== undefined && args.definition !== null) {
    objects = flatten(args.definition, 'definition');
  } else if (args.kind && args.name) {
    objects = [{ apiVersion: args.api_version ?? 'v1', kind: args.kind, metadata: { name: args.name } }];
  } else {
    throw new Error('give one of definition, src, template, or kind and name');
  }
  for (const object of objects) {
    if (!object.kind || !object.metadata?.name) throw new Error(`every object needs kind and metadata.name (got ${JSON.stringify(object).slice(0, 120)})`);
    if (!object.apiVersion) object.apiVersion = args.api_version ?? 'v1';
    if (args.namespace && !object.metadata.namespace && !CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = args.namespace;
  }
  return objects;
}

/** Kinds that never take a namespace (the common ones; others keep what the manifest says). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'ClusterIssuer',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'CSIDriver',
  'VolumeSnapshotClass',
]);

function identity(object: K8sObject): string {
  const group = (object.apiVersion ?? '').includes('/') ? object.apiVersion!.split('/')[0] : '';
  return `${object.kind}.${group}/${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
}

/** What users declare: drop server bookkeeping before comparing or showing a diff. */
function comparable(object: K8sObject): K8sObject {
  const copy = JSON.parse(JSON.stringify(object)) as K8sObject;
  delete copy.status;
  const metadata = copy.metadata ?? {};
  for (const key of ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink']) delete metadata[key];
  const annotations = metadata.annotations as Record<string, string> | undefined;
  if (annotations) {
    delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
    delete annotations['deployment.kubernetes.io/revision'];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  return copy;
}

function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

const kubeSetup = (args: K8sArgs): string => {
  const flags = [args.kubeconfig ? `--kubeconfig ${shellPath(args.kubeconfig)}` : '', args.context ? `--context=${quote(args.context)}` : ''].join(' ');
  return `
if command -v kubectl >/dev/null 2>&1; then KUBECTL=kubectl; elif command -v k3s >/dev/null 2>&1; then KUBECTL="k3s kubectl"; else echo "kubectl not found on this host" >&2; exit 127; fi
if [ -z "\${KUBECONFIG:-}" ] && [ ! -f "$HOME/.kube/config" ] && [ -r /etc/rancher/k3s/k3s.yaml ]; then export KUBECONFIG=/etc/rancher/k3s/k3s.yaml; fi
k() { $KUBECTL ${flags} "$@"; }
f=$(mktemp) || exit 1
trap 'rm -f "$f"' EXIT
cat > "$f"`;
};

const SEPARATOR = '\n--tsrun-k8s-section--\n';

function listItems(text: string): K8sObject[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const parsed = JSON.parse(trimmed) as K8sObject;
  return parsed.kind === 'List' ? ((parsed.items as K8sObject[]) ?? []) : [parsed];
}

function waitScript(args: K8sArgs, objects: K8sObject[]): string {
  const timeout = `${args.wait_timeout ?? 120}s`;
  if (args.wait_condition) {
    const status =
      args.wait_condition.status === undefined
        ? 'True'
        : String(args.wait_condition.status)
            .replace(/^true$/i, 'True')
            .replace(/^false$/i, 'False');
    return `k wait -f "$f" --for=${quote(`condition=${args.wait_condition.type}=${status}`)} --timeout=${timeout} >/dev/null`;
  }
  const rollouts = objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind ?? ''))
    .map(
      (o) =>
        `k rollout status ${command(`${o.kind!.toLowerCase()}/${o.metadata!.name!}`)} ${o.metadata?.namespace ? `-n ${quote(o.metadata.namespace)}` : ''} --timeout=${timeout} >/dev/null`,
    );
  return rollouts.join('\n') || 'true';
}

/** What the k8s module reads: the objects wanted, and the cluster's current and dry-run views of them. */
export interface K8sState {
  objects: K8sObject[];
  manifest: string;
  current: string;
  dryRun: string;
  /** The namespaces the dry run did not find are taken as made by an earlier task. */
  namespacesCreatedEarlier?: boolean;
}

const namespaceFlag = (args: K8sArgs): string => (args.namespace ? `-n ${quote(args.namespace)}` : '');
const fieldManager = (args: K8sArgs): string => args.server_side_apply?.field_manager ?? FIELD_MANAGER;

/** One exec: the current objects, and (present) what a server-side apply would make of them. */
async function readK8s(args: K8sArgs, ctx: ReadContext): Promise<K8sState> {
  let objects: K8sObject[];
  try {
    objects = desiredObjects(args, ctx);
  } catch (error) {
    throw new RemoteError((error as Error).message);
  }
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
  const readScript = `${kubeSetup(args)}
k get -f "$f" ${namespaceFlag(args)} -o json --ignore-not-found || exit 1
printf '${SEPARATOR}'
${(args.state ?? 'present') === 'present' ? `k apply -f "$f" ${namespaceFlag(args)} --server-side --force-conflicts --field-manager=${quote(fieldManager(args))} --dry-run=server -o json 2>&1 || echo "__dry_run_failed__ $?"` : ''}`;
  const read = await ctx.exec(readScript, { stdin: manifest });
  if (read.code !== 0) throw new RemoteError(`kubectl failed: ${(read.stderr || read.stdout).trim()}`);
  const [current, dryRun = ''] = read.stdout.split(SEPARATOR);
  return { objects, manifest, current: current!, dryRun };
}

const dryRunFailure = (dryRun: string): string | undefined =>
  dryRun.includes('__dry_run_failed__') ? dryRun.replace(/__dry_run_failed__ \d+\s*$/, '').trim() : undefined;

export function planK8s(args: K8sArgs, state: K8sState): Plan {
  const { objects, manifest } = state;
  const current = new Map(listItems(state.current).map((o) => [identity(o), comparable(o)]));
  const timeout = `${args.wait_timeout ?? 120}s`;
  const diff: FileDiff[] = [];
  const changedObjects: string[] = [];
  if ((args.state ?? 'present') === 'absent') {
    for (const object of objects) {
      const key = identity(object);
      const existing = [...current.entries()].find(([k]) => k.endsWith(`/${object.metadata!.name}`) && k.startsWith(`${object.kind}.`));
      if (existing) {
        changedObjects.push(key);
        diff.push({ path: `${object.kind}/${object.metadata!.name}`, before: toYamlText(existing[1]), after: '' });
      }
    }
    const changed = changedObjects.length > 0;
    const remove = `${kubeSetup(args)}
k delete -f "$f" ${namespaceFlag(args)} --ignore-not-found --wait=true --timeout=${timeout} >/dev/null || exit 1
k wait -f "$f" ${namespaceFlag(args)} --for=delete --timeout=${timeout} >/dev/null 2>&1 || true`;
    return {
      changed,
      result: { result: {} },
      diff,
      changes: changed ? [{ run: remove, stdin: manifest, error: (run) => `kubectl delete failed: ${run.stderr.trim()}` }] : [],
    };
  }

  let desired: K8sObject[];
  const dryRunError = dryRunFailure(state.dryRun);
  if (dryRunError !== undefined) {
    if (!state.namespacesCreatedEarlier) return failure(`kubectl apply (dry run) failed: ${dryRunError}`);
    // The namespace does not exist yet: the object would be created.
    desired = objects.map(comparable);
  } else {
    desired = listItems(state.dryRun).map(comparable);
  }
  for (const [index, after] of desired.entries()) {
    const key = identity(objects[index] ?? after);
    const before = current.get(identity(after)) ?? current.get(key);
    if (!before || sortedJson(before) !== sortedJson(after)) {
      changedObjects.push(key);
      diff.push({ path: `${after.kind}/${after.metadata?.name}`, before: before ? toYamlText(before) : '', after: toYamlText(after) });
    }
  }
  const changed = changedObjects.length > 0;
  const apply = `${kubeSetup(args)}
${changed ? `k apply -f "$f" ${namespaceFlag(args)} --server-side --force-conflicts --field-manager=${quote(fieldManager(args))} >/dev/null || exit 1` : ''}
${args.wait ? waitScript(args, objects) : ''}`;
  return {
    changed,
    result: { result: desired.length === 1 ? desired[0] : { items: desired } },
    diff: changed ? diff : [],
    changes:
      changed || args.wait
        ? [{ run: apply, stdin: manifest, error: (run) => `kubectl ${changed ? 'apply' : 'wait'} failed: ${(run.stderr || run.stdout).trim()}` }]
        : [],
  };
}

export const k8sModule = defineModule({
  name: 'k8s',
  collection: 'kubernetes.core',
  aliases: ['community.kubernetes.k8s'],
  schema: k8sArgs,
  read: readK8s,
  plan: planK8s,
  // On a fresh cluster the namespace an earlier task would create does not exist yet.
  assume: (state) => {
    const error = dryRunFailure(state.dryRun);
    return error !== undefined && /namespaces? "[^"]+" not found/.test(error) ? { ...state, namespacesCreatedEarlier: true } : undefined;
  },
});
