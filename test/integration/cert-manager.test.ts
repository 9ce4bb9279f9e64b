/**
 * cert-manager on a real control plane: the real CRDs and controller (lab/cert-manager/build.sh)
 * issue a Certificate from the lab's CA ClusterIssuer, and the result verifies against the
 * lab CA with the names asked for.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { certManagerPid, CLUSTER_ISSUER, startCertManager, stopCertManager, type RunningCertManager } from '../../lab/src/cert-manager.js';
import { startControlPlane, stopControlPlane } from '../../lab/src/control-plane.js';
import { REPO_ROOT } from '../harness/hosts.js';

const stateDir = `/var/lib/tsrun/cert-manager-test-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 10)}`;
const planeDir = path.join(stateDir, 'k8s');
const certManagerDir = path.join(stateDir, 'cert-manager');
const namespace = 'tsrun-cert-test';
// An address of the kind the lab's LoadBalancer pool hands out (only a name in the certificate).
const ip = '198.51.100.200';
const dnsName = 'registry.lab.test';
let kubeconfig = '';
let running: RunningCertManager;

const kubectl = (...args: string[]): string => execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
const kubectlIn = (stdin: string, ...args: string[]): string =>
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', input: stdin });
const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' });

describe('cert-manager on a real API server', () => {
  beforeAll(async () => {
    execFileSync(path.join(REPO_ROOT, 'lab/cert-manager/build.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
    const plane = await startControlPlane({ stateDir: planeDir, bindAddress: '127.0.0.1', securePort: 17443 });
    kubeconfig = plane.kubeconfig;
    // A namespace left by an interrupted run would hold an already issued certificate.
    kubectl('delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=120s');
    running = await startCertManager({ kubeconfig, stateDir: certManagerDir });
  }, 900_000);

  afterAll(async () => {
    if (kubeconfig) kubectl('delete', 'namespace', namespace, '--ignore-not-found', '--wait=false');
    await stopCertManager(certManagerDir);
    await stopControlPlane(planeDir);
  }, 120_000);

  test('the CA ClusterIssuer is Ready and the CA certificate is a file nodes can trust', () => {
    const ready = kubectl('get', 'clusterissuer', CLUSTER_ISSUER, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
    expect(ready).toBe('True');
    expect(openssl('x509', '-in', running.caCertificate, '-noout', '-ext', 'basicConstraints')).toContain('CA:TRUE');
  });

  test('a Certificate with DNS and IP names is issued by the lab CA', () => {
    kubectlIn(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
          {
            apiVersion: 'cert-manager.io/v1',
            kind: 'Certificate',
            metadata: { name: 'registry', namespace },
            spec: {
              secretName: 'registry-tls',
              dnsNames: [dnsName],
              ipAddresses: [ip],
              issuerRef: { name: CLUSTER_ISSUER, kind: 'ClusterIssuer', group: 'cert-manager.io' },
            },
          },
        ],
      }),
      'apply',
      '-f',
      '-',
    );
    kubectl('wait', '--for=condition=Ready', 'certificate/registry', '-n', namespace, '--timeout=120s');

    const data = JSON.parse(kubectl('get', 'secret', 'registry-tls', '-n', namespace, '-o', 'jsonpath={.data}')) as Record<
      'ca.crt' | 'tls.crt' | 'tls.key',
      string
    >;
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const decoded = (key: keyof typeof data) => Buffer.from(data[key], 'base64').toString('utf8');
    mkdirSync(stateDir, { recursive: true });
    const certificate = path.join(stateDir, 'registry.crt');
    writeFileSync(certificate, decoded('tls.crt'));

    expect(openssl('verify', '-CAfile', running.caCertificate, certificate).trim()).toBe(`${certificate}: OK`);
    expect(decoded('ca.crt')).toBe(readFileSync(running.caCertificate, 'utf8'));
    const names = openssl('x509', '-in', certificate, '-noout', '-ext', 'subjectAltName');
    expect(names).toContain(`IP Address:${ip}`);
    expect(names).toContain(`DNS:${dnsName}`);
    // The key in the Secret is the one the certificate was issued for.
    const publicKeyOf = (args: string[], input: string) => execFileSync('openssl', args, { encoding: 'utf8', input });
    expect(publicKeyOf(['pkey', '-pubout'], decoded('tls.key'))).toBe(publicKeyOf(['x509', '-noout', '-pubkey'], decoded('tls.crt')));
  }, 180_000);

  test('without the build, starting says how to get the binaries', async () => {
    const empty = path.join(stateDir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    await expect(startCertManager({ kubeconfig, stateDir: path.join(stateDir, 'unbuilt'), binDir: empty })).rejects.toThrow(
      `no cert-manager-controller in ${empty}: build them with lab/cert-manager/build.sh`,
    );
  });

  test('starting again keeps the running controller; stopping ends it', async () => {
    const again = await startCertManager({ kubeconfig, stateDir: certManagerDir });
    expect(again.pid).toBe(running.pid);
    expect(certManagerPid(certManagerDir)).toBe(running.pid);
    await stopCertManager(certManagerDir);
    expect(certManagerPid(certManagerDir)).toBeUndefined();
    // Gone, or a zombie its parent (this process) has not collected yet.
    const stat = existsSync(`/proc/${running.pid}/stat`) ? readFileSync(`/proc/${running.pid}/stat`, 'utf8') : '';
    expect(stat === '' || stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z').toBe(true);
    await stopCertManager(certManagerDir);
  }, 180_000);
});
