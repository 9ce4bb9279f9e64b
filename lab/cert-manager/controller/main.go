// Command cert-manager-controller runs cert-manager's own control loops (pkg/controller)
// for the CA and SelfSigned issuers.
//
// cert-manager's cmd/controller is a nested module that the Go module proxy does not
// serve (it is never tagged on its own, and the main module's zip leaves it out), so this
// is a small entry point of our own over the main module's public controller packages:
// the same constructors, informer factories and issuers the upstream binary registers.
// ACME, Vault and Venafi are not linked in; the lab issues from its own CA.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"

	"k8s.io/klog/v2"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each import registers its control loop (controllerpkg.Register) or issuer type.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "path to a kubeconfig")
	master := flag.String("master", "", "the API server address (overrides the kubeconfig)")
	namespace := flag.String("namespace", "", "watch only this namespace (all when empty)")
	clusterResourceNamespace := flag.String("cluster-resource-namespace", "kube-system",
		"namespace holding the Secrets that ClusterIssuers refer to")
	leaderElect := flag.Bool("leader-elect", false, "leader election (not supported: one replica)")
	workers := flag.Int("concurrent-workers", 5, "workers per control loop")
	klog.InitFlags(flag.CommandLine)
	flag.Parse()
	if *leaderElect {
		return fmt.Errorf("--leader-elect=true is not supported; run a single replica")
	}

	logf.InitLogs()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	log := logf.FromContext(ctx)

	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         *kubeconfig,
		APIServerHost:      *master,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		Namespace:          *namespace,
		IssuerOptions: controllerpkg.IssuerOptions{
			ClusterResourceNamespace: *clusterResourceNamespace,
		},
	})
	if err != nil {
		return err
	}
	shared, err := factory.Build()
	if err != nil {
		return err
	}

	names := make([]string, 0, len(controllerpkg.Known()))
	for name := range controllerpkg.Known() {
		// A namespaced controller cannot read cluster-scoped issuers.
		if *namespace != "" && name == clusterissuers.ControllerName {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)

	// Constructors register the informers they need, so the factories start after them.
	loops := make(map[string]controllerpkg.Interface, len(names))
	for _, name := range names {
		loop, err := controllerpkg.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("building control loop %s: %w", name, err)
		}
		loops[name] = loop
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if shared.GatewaySolverEnabled {
		shared.GWShared.Start(ctx.Done())
	}

	errs := make(chan error, len(loops))
	var wg sync.WaitGroup
	for name, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Info("starting control loop", "controller", name)
			if err := loop.Run(*workers, ctx); err != nil {
				errs <- fmt.Errorf("control loop %s: %w", name, err)
				stop()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
