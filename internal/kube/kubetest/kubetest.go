// Package kubetest plays the API server's faults on client-go's fake
// clientsets (and the engines' generated ones, which embed the same
// testing.Fake), so that the cluster adapters' tests inject them alike:
// passing errors, names generated from generateName, watches that drop.
package kubetest

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/sluice-dev/sluice/internal/kube"
)

// Fake is what the fake clientsets share: their embedded testing.Fake.
type Fake interface {
	PrependReactor(verb, resource string, reaction k8stesting.ReactionFunc)
	PrependWatchReactor(resource string, reaction k8stesting.WatchReactionFunc)
	Actions() []k8stesting.Action
}

// Backoff retries at once.
var Backoff = kube.Backoff{Attempts: 6, Sleep: func(context.Context, time.Duration) error { return nil }}

// GenerateNames names each object of resource created with generateName
// as the API server would, with suffix for its random part; then each
// created object is passed to created, if not nil.
func GenerateNames[T interface {
	runtime.Object
	GetName() string
	GetGenerateName() string
	SetName(string)
}](f Fake, resource, suffix string, created func(T)) {
	f.PrependReactor("create", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		c, ok := a.(k8stesting.CreateAction)
		if !ok {
			return false, nil, nil
		}
		obj, ok := c.GetObject().(T)
		if !ok {
			return false, nil, nil
		}
		if obj.GetName() == "" {
			obj.SetName(obj.GetGenerateName() + suffix)
		}
		if created != nil {
			created(obj)
		}
		return false, nil, nil
	})
}

// Fail makes the next calls of verb on resource fail, one with each of
// errs in turn.
func Fail(f Fake, verb, resource string, errs ...error) {
	var mu sync.Mutex
	f.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) == 0 {
			return false, nil, nil
		}
		err := errs[0]
		errs = errs[1:]
		return true, nil, err
	})
}

// Watches counts the watches opened on a resource.
type Watches struct {
	mu sync.Mutex
	n  int
}

// Opened is how many watches were opened.
func (w *Watches) Opened() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// DropWatches makes the first n watches of resource end after a while
// (after, which may be 0) without an event, as a dropped connection
// does; later ones are the fake's own.
func DropWatches(f Fake, resource string, n int, after time.Duration) *Watches {
	ws := &Watches{}
	f.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		ws.n++
		if ws.n > n {
			return false, nil, nil
		}
		w := watch.NewRaceFreeFake()
		go func() {
			time.Sleep(after)
			w.Stop()
		}()
		return true, w, nil
	})
	return ws
}

// Count is how many calls of verb on resource the fake saw, failed ones
// included.
func Count(f Fake, verb, resource string) int {
	n := 0
	for _, a := range f.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}
