package kube

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// Object is an API object as the generated clientsets type it: a
// pointer to an engine's kind (*Workflow, *PipelineRun).
type Object interface {
	runtime.Object
	metav1.Object
}

// Kind is the part of a generated typed client (one kind, one namespace)
// that submitting and following a run uses; the clientsets' own
// interfaces satisfy it.
type Kind[T Object, L runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// Objects calls a Kind with Backoff's retries, and follows objects of it
// across dropped watches. Noun names the kind in errors ("workflow").
type Objects[T Object, L runtime.Object] struct {
	Kind    Kind[T, L]
	Noun    string
	Backoff Backoff
}

// Create creates obj.
func (o Objects[T, L]) Create(ctx context.Context, obj T) (T, error) {
	var out T
	err := o.Backoff.Do(ctx, "create "+o.Noun, func(ctx context.Context) error {
		var err error
		out, err = o.Kind.Create(ctx, obj, metav1.CreateOptions{})
		return err
	})
	return out, err
}

// Get reads the named object.
func (o Objects[T, L]) Get(ctx context.Context, name string) (T, error) {
	var out T
	err := o.Backoff.Do(ctx, "get "+o.Noun+" "+name, func(ctx context.Context) error {
		var err error
		out, err = o.Kind.Get(ctx, name, metav1.GetOptions{})
		return err
	})
	return out, err
}

// List reads the objects that selector (a label selector) picks.
func (o Objects[T, L]) List(ctx context.Context, selector string) ([]T, error) {
	var out []T
	err := o.Backoff.Do(ctx, "list "+o.Noun+"s "+selector, func(ctx context.Context) error {
		var err error
		out, _, err = o.list(ctx, selector)
		return err
	})
	return out, err
}

func (o Objects[T, L]) list(ctx context.Context, selector string) ([]T, string, error) {
	l, err := o.Kind.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, "", err
	}
	items, err := meta.ExtractList(l)
	if err != nil {
		return nil, "", err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		if t, ok := it.(T); ok {
			out = append(out, t)
		}
	}
	rv := ""
	if acc, err := meta.ListAccessor(l); err == nil {
		rv = acc.GetResourceVersion()
	}
	return out, rv, nil
}

// MergePatch applies a JSON merge patch to the named object.
func (o Objects[T, L]) MergePatch(ctx context.Context, name string, patch []byte) error {
	return o.Backoff.Do(ctx, "patch "+o.Noun+" "+name, func(ctx context.Context) error {
		_, err := o.Kind.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}

// Follow reads the named object, then watches it from that version on,
// calling each with every state until each says it is done; it returns
// the last state. A watch that drops is opened again from a fresh read,
// so no state is missed for long. The object's deletion is an error.
func (o Objects[T, L]) Follow(ctx context.Context, name string, each func(T) bool) (T, error) {
	var last T
	err := o.Backoff.Watch(ctx, "watch "+o.Noun+" "+name, func(ctx context.Context) (watch.Interface, error) {
		obj, err := o.Kind.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		w, err := o.Kind.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: obj.GetResourceVersion(),
		})
		if err != nil {
			return nil, err
		}
		return primed([]runtime.Object{obj}, w), nil
	}, func(ev watch.Event) (bool, error) {
		obj, ok := ev.Object.(T)
		if !ok || obj.GetName() != name {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("%s %s was deleted", o.Noun, name)
		}
		last = obj
		return each(obj), nil
	})
	return last, err
}

// FollowList lists the objects that selector picks, then watches them
// from that version on, calling each with every change (Added for what
// the list found) until each says it is done or ctx ends. A watch that
// drops is opened again from a fresh list.
func (o Objects[T, L]) FollowList(ctx context.Context, selector string, each func(watch.EventType, T) bool) error {
	sel, err := labels.Parse(selector)
	if err != nil {
		return fmt.Errorf("watch %ss %s: %w", o.Noun, selector, err)
	}
	return o.Backoff.Watch(ctx, "watch "+o.Noun+"s "+selector, func(ctx context.Context) (watch.Interface, error) {
		items, rv, err := o.list(ctx, selector)
		if err != nil {
			return nil, err
		}
		w, err := o.Kind.Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: rv})
		if err != nil {
			return nil, err
		}
		objs := make([]runtime.Object, len(items))
		for i, it := range items {
			objs[i] = it
		}
		return primed(objs, w), nil
	}, func(ev watch.Event) (bool, error) {
		obj, ok := ev.Object.(T)
		if !ok || !sel.Matches(labels.Set(obj.GetLabels())) {
			return false, nil
		}
		return each(ev.Type, obj), nil
	})
}

// primed is a watch that first delivers the states read before it
// opened, as Added events; with none, it still delivers nothing before
// the inner watch does.
func primed(objs []runtime.Object, inner watch.Interface) watch.Interface {
	out := make(chan watch.Event)
	stop := make(chan struct{})
	go func() {
		defer close(out)
		for _, obj := range objs {
			select {
			case out <- watch.Event{Type: watch.Added, Object: obj}:
			case <-stop:
				return
			}
		}
		for {
			select {
			case ev, ok := <-inner.ResultChan():
				if !ok {
					return
				}
				select {
				case out <- ev:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	return &primedWatch{out: out, stop: stop, inner: inner}
}

type primedWatch struct {
	out   chan watch.Event
	stop  chan struct{}
	inner watch.Interface
	once  sync.Once
}

func (p *primedWatch) ResultChan() <-chan watch.Event { return p.out }

func (p *primedWatch) Stop() {
	p.once.Do(func() {
		close(p.stop)
		p.inner.Stop()
	})
}
