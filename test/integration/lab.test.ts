/**
 * The homelab in a box, checked from the hosts' side: SSH hosts with their own files, a
 * real control plane the controller drives with kubectl, Ready workers, Deployments that
 * become Available, namespaces that go away, LoadBalancer addresses, the registry workload
 * served by the real registry, and containerd pulling the seeded image through hosts.toml.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultStateDir, labDown, labStatus, labUp, SEEDED_IMAGE } from '../../lab/src/lab.js';
import { readTestHosts, type TestHost } from '../../lab/src/testhosts.js';
import { inHost } from '../harness/hosts.js';

const stateDir = `${defaultStateDir()}-test`;
const inventoryDir = path.join(stateDir, 'inventory');
let hosts: TestHost[] = [];
let controller: TestHost;
let workers: TestHost[];
let gateway = '';

async function on(host: TestHost, script: string): Promise<string> {
  const result = await inHost(host, script);
  if (result.code !== 0) throw new Error(`${host.name}: ${script}\n${result.stderr}`);
  return result.stdout.trim();
}
const kubectl = (args: string, stdin?: string): Promise<string> =>
  stdin === undefined
    ? on(controller, `kubectl ${args}`)
    : inHost(controller, `kubectl ${args}`, stdin).then((r) => {
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout.trim();
      });

beforeAll(async () => {
  const up = await labUp({ stateDir, inventoryDir, workers: 3, prefix: 'labt', log: () => undefined });
  expect(up.inventory).toBe(path.join(inventoryDir, 'hosts.ini'));
  hosts = readTestHosts(path.join(stateDir, 'hosts'))!.hosts;
  [controller, ...workers] = hosts as [TestHost, ...TestHost[]];
  gateway = `${controller.address.split('.').slice(0, 3).join('.')}.1`;
}, 1_800_000);

afterAll(async () => {
  await labDown({ stateDir });
}, 120_000);

test('a second lab-up is a no-op that returns the same lab', async () => {
  const pids = hosts.map((h) => h.sshdPid);
  await labUp({ stateDir, inventoryDir, workers: 3, prefix: 'labt', log: () => undefined });
  expect(readTestHosts(path.join(stateDir, 'hosts'))!.hosts.map((h) => h.sshdPid)).toEqual(pids);
  expect(labStatus({ stateDir })).toMatch(/kube-apiserver\s+up/);
}, 300_000);

test('the inventory names the controller and the workers with every connection variable', () => {
  const text = readFileSync(path.join(inventoryDir, 'hosts.ini'), 'utf8');
  expect(text).toContain(`[controllers]\n${controller.name} ansible_host=${controller.address}\n`);
  for (const worker of workers) expect(text).toContain(`${worker.name} ansible_host=${worker.address}`);
  expect(text).toMatch(/ansible_ssh_private_key_file=\S+/);
  expect(text).toMatch(/tsrun_known_hosts=\S+/);
});

test('every host answers over SSH with its own files', async () => {
  const hostsState = readTestHosts(path.join(stateDir, 'hosts'))!;
  await Promise.all(hosts.map((host) => on(host, `echo ${host.name} > /etc/containerd/whoami`)));
  for (const host of hosts) {
    const out = execFileSync(
      'ssh',
      [
        '-i',
        hostsState.keyFile,
        '-o',
        `UserKnownHostsFile=${hostsState.knownHostsFile}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        `root@${host.address}`,
        'cat /etc/containerd/whoami',
      ],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe(host.name);
  }
});

test('kubectl on the controller shows the workers Ready', async () => {
  expect(await on(controller, 'test -s /etc/rancher/k3s/k3s.yaml && test -s /root/.kube/config && echo ok')).toBe('ok');
  await kubectl(`wait --for=condition=Ready node ${workers.map((w) => w.name).join(' ')} --timeout=120s`);
  const ready = await kubectl(`get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}'`);
  expect(ready.split(' ').sort()).toEqual(workers.map((w) => `${w.name}=True`).sort());
}, 180_000);

test('a Deployment becomes Available, a LoadBalancer Service gets its address, the registry serves on it', async () => {
  const address = `${controller.address.split('.').slice(0, 3).join('.')}.210`;
  const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: lab-check}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: registry-config, namespace: lab-check}
data:
  config.yml: |
    version: 0.1
    storage:
      filesystem: {rootdirectory: /var/lib/registry}
    http: {addr: ":5000"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: registry, namespace: lab-check}
spec:
  replicas: 1
  selector: {matchLabels: {app: registry}}
  template:
    metadata: {labels: {app: registry}}
    spec:
      containers:
        - name: registry
          image: registry:2.8.3
          ports: [{containerPort: 5000}]
          volumeMounts:
            - {name: config, mountPath: /etc/docker/registry}
            - {name: data, mountPath: /var/lib/registry}
      volumes:
        - {name: config, configMap: {name: registry-config}}
        - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Service
metadata:
  name: registry
  namespace: lab-check
  annotations: {metallb.io/loadBalancerIPs: "${address}"}
spec:
  type: LoadBalancer
  selector: {app: registry}
  ports: [{port: 5000, targetPort: 5000}]
`;
  await kubectl('apply -f -', manifest);
  await kubectl('wait --for=condition=Available deployment/registry -n lab-check --timeout=120s');
  let ingress = '';
  for (let i = 0; i < 60 && ingress !== address; i++) {
    ingress = await kubectl(`get service registry -n lab-check -o jsonpath='{.status.loadBalancer.ingress[0].ip}'`);
    if (ingress !== address) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  expect(ingress).toBe(address);
  const answer = await on(workers[0]!, `for i in $(seq 60); do curl -fsS http://${address}:5000/v2/ && exit 0; sleep 0.5; done; exit 1`);
  expect(answer).toBe('{}');
}, 180_000);

test('a namespace deleted from the controller disappears', async () => {
  await kubectl('delete namespace lab-check --wait=true --timeout=120s');
  expect(await kubectl('get namespaces -o name')).not.toContain('namespace/lab-check');
}, 180_000);

test('a worker pulls the seeded image from the upstream registry through containerd and its hosts.toml', async () => {
  const [worker] = workers;
  const image = `docker.io/${SEEDED_IMAGE.repository}:${SEEDED_IMAGE.tag}`;
  await on(
    worker!,
    `mkdir -p /etc/containerd/certs.d/docker.io && printf '%s\\n' 'server = "http://${gateway}:5001"' '[host."http://${gateway}:5001"]' '  capabilities = ["pull", "resolve"]' > /etc/containerd/certs.d/docker.io/hosts.toml`,
  );
  await on(worker!, `ctr --address /run/containerd/containerd.sock images pull --hosts-dir /etc/containerd/certs.d ${image} >/dev/null`);
  expect(await on(worker!, 'ctr --address /run/containerd/containerd.sock images ls -q')).toContain(image);
  await on(worker!, 'rm -rf /etc/containerd/certs.d/docker.io');
}, 180_000);
