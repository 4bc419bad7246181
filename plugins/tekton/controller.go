package tekton

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

// Controller runs CachedStep CustomRuns: informers on CustomRuns and on
// the TaskRuns it creates feed a work queue, whose workers reconcile one
// CustomRun at a time each (the queue never hands one to two workers).
type Controller struct {
	Reconciler
	// Namespace limits it to one namespace; empty watches all.
	Namespace string
	// Workers reconcile in parallel; 0 means 4. A lookup may take as long
	// as the prober's timeout.
	Workers int
	// Resync re-reads every CustomRun this often; 0 means 10 minutes.
	Resync time.Duration
	Log    *slog.Logger
}

// Run runs the controller until ctx ends, then stops its workers after
// the reconciles in progress.
func (c *Controller) Run(ctx context.Context) error {
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	resync := c.Resync
	if resync == 0 {
		resync = 10 * time.Minute
	}
	workers := c.Workers
	if workers == 0 {
		workers = 4
	}
	opts := []externalversions.SharedInformerOption{externalversions.WithNamespace(c.Namespace)}
	runs := externalversions.NewSharedInformerFactoryWithOptions(c.Tekton, resync, opts...)
	// Only the TaskRuns of CachedSteps: those labelled with a CustomRun.
	children := externalversions.NewSharedInformerFactoryWithOptions(c.Tekton, resync, append(opts,
		externalversions.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = cachedstep.LabelCustomRun }))...)
	crs := runs.Tekton().V1beta1().CustomRuns()
	trs := children.Tekton().V1().TaskRuns()

	queue := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "cachedstep"})
	defer queue.ShutDown()
	enqueueRun := func(obj any) {
		if cr, ok := obj.(*v1beta1.CustomRun); ok && cachedstep.Is(cr) && !cr.IsDone() {
			queue.Add(cache.MetaObjectToName(cr))
		}
	}
	enqueueOwner := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		tr, ok := obj.(*v1.TaskRun)
		if !ok {
			return
		}
		if ref := metav1.GetControllerOf(tr); ref != nil && ref.Kind == "CustomRun" {
			queue.Add(cache.ObjectName{Namespace: tr.Namespace, Name: ref.Name})
		}
	}
	if _, err := crs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueRun,
		UpdateFunc: func(_, obj any) { enqueueRun(obj) },
	}); err != nil {
		return err
	}
	if _, err := trs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueOwner,
		UpdateFunc: func(_, obj any) { enqueueOwner(obj) },
		DeleteFunc: enqueueOwner,
	}); err != nil {
		return err
	}
	rec := c.Reconciler
	rec.TaskRun = func(ns, name string) (*v1.TaskRun, error) { return trs.Lister().TaskRuns(ns).Get(name) }
	runs.Start(ctx.Done())
	children.Start(ctx.Done())
	defer runs.Shutdown()
	defer children.Shutdown()
	for _, f := range []externalversions.SharedInformerFactory{runs, children} {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("sync the informer of %v", typ)
			}
		}
	}
	where := c.Namespace
	if where == "" {
		where = "all namespaces"
	}
	log.Info("watching CachedStep CustomRuns", "in", where, "workers", workers)

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get := func(ns, name string) (*v1beta1.CustomRun, error) { return crs.Lister().CustomRuns(ns).Get(name) }
			for next(ctx, log, queue, get, &rec) {
			}
		}()
	}
	<-ctx.Done()
	queue.ShutDown()
	wg.Wait()
	log.Info("stopped")
	return nil
}

// next reconciles the next CustomRun of the queue; false when the queue
// is shut down.
func next(ctx context.Context, log *slog.Logger, queue workqueue.TypedRateLimitingInterface[cache.ObjectName],
	get func(ns, name string) (*v1beta1.CustomRun, error), rec *Reconciler) bool {
	key, quit := queue.Get()
	if quit {
		return false
	}
	defer queue.Done(key)
	cr, err := get(key.Namespace, key.Name)
	if apierrors.IsNotFound(err) {
		queue.Forget(key)
		return true
	}
	if err == nil {
		var again time.Duration
		again, err = rec.Reconcile(ctx, cr)
		if err == nil {
			queue.Forget(key)
			if again > 0 {
				queue.AddAfter(key, again)
			}
			return true
		}
	}
	if ctx.Err() != nil {
		return true
	}
	log.Warn("reconcile", "customrun", key.String(), "err", err)
	queue.AddRateLimited(key)
	return true
}
