/**
 * MetalLB's job in the lab: a LoadBalancer Service gets the address it asks for
 * (`metallb.io/loadBalancerIPs`, or `spec.loadBalancerIP`), or the next free one of the
 * pool, written into its status; the address is added to the lab bridge so that the
 * workers reach it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { kubectl, list, type KubeObject } from './kube.js';

const run = promisify(execFile);

export interface LoadBalancerOptions {
  kubeconfig: string;
  bridge: string;
  /** Addresses handed out when a Service asks for none, e.g. 198.51.100.200 .. .220. */
  pool: string[];
}

export function requestedAddress(service: KubeObject): string | undefined {
  const annotations = service.metadata.annotations ?? {};
  const wanted = annotations['metallb.io/loadBalancerIPs'] ?? annotations['metallb.universe.tf/loadBalancerIPs'] ?? service.spec?.loadBalancerIP;
  return wanted ? String(wanted).split(',')[0]!.trim() : undefined;
}

const key = (service: KubeObject): string => `${service.metadata.namespace}/${service.metadata.name}`;

export class LoadBalancer {
  /** Service key → address it holds. */
  private readonly assigned = new Map<string, string>();
  /** Addresses added to the bridge by this controller. */
  private readonly onBridge = new Set<string>();

  constructor(private readonly options: LoadBalancerOptions) {}

  /** One reconcile pass over every Service; returns Service key → address. */
  async reconcile(): Promise<Map<string, string>> {
    const services = (await list(this.options.kubeconfig, 'services')).filter((s) => s.spec?.type === 'LoadBalancer');
    const live = new Set(services.map(key));
    for (const stale of [...this.assigned.keys()].filter((k) => !live.has(k))) this.assigned.delete(stale);

    for (const service of services) {
      const address = this.addressFor(service);
      if (!address) continue;
      this.assigned.set(key(service), address);
      await this.ensureOnBridge(address);
      const current = service.status?.loadBalancer?.ingress?.[0]?.ip;
      if (current !== address) {
        const patch = JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: address, ipMode: 'VIP' }] } } });
        await kubectl(this.options.kubeconfig, [
          'patch',
          'service',
          service.metadata.name,
          '-n',
          service.metadata.namespace!,
          '--subresource=status',
          '--type=merge',
          '-p',
          patch,
        ]);
      }
    }
    const used = new Set(this.assigned.values());
    for (const address of [...this.onBridge].filter((a) => !used.has(a))) await this.removeFromBridge(address);
    return new Map(this.assigned);
  }

  private addressFor(service: KubeObject): string | undefined {
    const wanted = requestedAddress(service);
    if (wanted) return wanted;
    const existing = this.assigned.get(key(service));
    if (existing) return existing;
    const taken = new Set(this.assigned.values());
    return this.options.pool.find((address) => !taken.has(address));
  }

  private async ensureOnBridge(address: string): Promise<void> {
    if (this.onBridge.has(address)) return;
    await run('ip', ['addr', 'replace', `${address}/32`, 'dev', this.options.bridge]);
    this.onBridge.add(address);
  }

  private async removeFromBridge(address: string): Promise<void> {
    await run('ip', ['addr', 'del', `${address}/32`, 'dev', this.options.bridge]).catch(() => undefined);
    this.onBridge.delete(address);
  }

  async releaseAll(): Promise<void> {
    for (const address of [...this.onBridge]) await this.removeFromBridge(address);
  }
}
