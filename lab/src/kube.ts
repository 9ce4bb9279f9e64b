/** The lab's own calls to the API server: kubectl with the lab's kubeconfig, JSON in and out. */
import { execFile } from 'node:child_process';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string>; uid?: string };
  // biome-ignore lint/suspicious/noExplicitAny: spec and status are whatever the API server sends for the kind
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as spec
  status?: any;
  data?: Record<string, string>;
}

export function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

export async function list(kubeconfig: string, resource: string): Promise<KubeObject[]> {
  const text = await kubectl(kubeconfig, ['get', resource, '--all-namespaces', '-o', 'json']);
  return (JSON.parse(text) as { items: KubeObject[] }).items;
}

export async function get(kubeconfig: string, resource: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  const text = await kubectl(kubeconfig, ['get', resource, name, '-n', namespace, '-o', 'json', '--ignore-not-found']);
  return text.trim() ? (JSON.parse(text) as KubeObject) : undefined;
}

export async function getClusterScoped(kubeconfig: string, resource: string, name: string): Promise<KubeObject | undefined> {
  const text = await kubectl(kubeconfig, ['get', resource, name, '-o', 'json', '--ignore-not-found']);
  return text.trim() ? (JSON.parse(text) as KubeObject) : undefined;
}

export function apply(kubeconfig: string, objects: unknown[]): Promise<string> {
  return kubectl(
    kubeconfig,
    ['apply', '--server-side', '--field-manager=tsrun-lab', '--force-conflicts', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
}
