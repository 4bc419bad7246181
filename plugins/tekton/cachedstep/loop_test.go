package cachedstep_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"github.com/sluice-dev/sluice/plugins/tekton/cachedstep"
)

func TestIterations(t *testing.T) {
	items := func(texts ...string) v1beta1.Param {
		return v1beta1.Param{Name: "sluice_items", Value: v1beta1.ParamValue{Type: v1beta1.ParamTypeArray, ArrayVal: texts}}
	}
	runs := func(s string) v1beta1.Param {
		return v1beta1.Param{Name: "sluice_runs", Value: v1beta1.ParamValue{Type: v1beta1.ParamTypeString, StringVal: s}}
	}
	literal := &cachedstep.Loop{Param: "sluice_item", Items: []cachedstep.Item{{Index: 1, Text: "b"}, {Index: 3, Text: "d"}}}
	dynamic := &cachedstep.Loop{Param: "sluice_item", ItemsParam: "sluice_items"}
	filtered := &cachedstep.Loop{Param: "sluice_item", ItemsParam: "sluice_items", RunsParam: "sluice_runs"}
	for _, tc := range []struct {
		name   string
		loop   *cachedstep.Loop
		params v1beta1.Params
		want   []cachedstep.Item
		bad    bool
	}{
		{name: "literal", loop: literal, want: literal.Items},
		{name: "run time", loop: dynamic, params: v1beta1.Params{items("eA==", "eQ==")},
			want: []cachedstep.Item{{Index: 0, Text: "eA=="}, {Index: 1, Text: "eQ=="}}},
		{name: "filtered", loop: filtered, params: v1beta1.Params{items("eA==", "eg=="), runs("[true,false,true]")},
			want: []cachedstep.Item{{Index: 0, Text: "eA=="}, {Index: 2, Text: "eg=="}}},
		{name: "no items", loop: dynamic, bad: true},
		{name: "items a string", loop: dynamic, params: v1beta1.Params{runs(`["a"]`)}, bad: true},
		{name: "no verdicts", loop: filtered, params: v1beta1.Params{items("eA==")}, bad: true},
		{name: "verdicts not a list", loop: filtered, params: v1beta1.Params{items("eA=="), runs("true")}, bad: true},
		{name: "too few kept", loop: filtered, params: v1beta1.Params{items("eA==", "eg=="), runs("[true,false]")}, bad: true},
		{name: "too many kept", loop: filtered, params: v1beta1.Params{items("eA=="), runs("[true,true]")}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.loop.Iterations(tc.params)
			if (err != nil) != tc.bad {
				t.Fatalf("Iterations: %v, want an error %v", err, tc.bad)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoopValidate(t *testing.T) {
	items := []cachedstep.Item{{Text: "a"}}
	for _, tc := range []struct {
		loop cachedstep.Loop
		ok   bool
	}{
		{cachedstep.Loop{Param: "p", Items: items}, true},
		{cachedstep.Loop{Param: "p", ItemsParam: "i", RunsParam: "r", Parallelism: 2}, true},
		{cachedstep.Loop{Items: items}, false},
		{cachedstep.Loop{Param: "p"}, false},
		{cachedstep.Loop{Param: "p", Items: items, ItemsParam: "i"}, false},
		{cachedstep.Loop{Param: "p", Items: items, RunsParam: "r"}, false},
		{cachedstep.Loop{Param: "p", Items: items, Parallelism: -1}, false},
	} {
		if err := tc.loop.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want valid %v", tc.loop, err, tc.ok)
		}
	}
}

// TestAggregate: a loop's results are JSON lists of its iterations'
// texts, which Element reads back, and the count.
func TestAggregate(t *testing.T) {
	its := [][]v1beta1.CustomRunResult{
		{{Name: "v", Value: `["a","b"]`}, {Name: "m", Value: ""}},
		{{Name: "v", Value: "$(x) \"quoted\"\n"}, {Name: "m", Value: "cas://sha256/00?kind=value&size=1"}},
	}
	got := cachedstep.Aggregate(its)
	want := []v1beta1.CustomRunResult{
		{Name: "v", Value: `["[\"a\",\"b\"]","$(x) \"quoted\"\n"]`},
		{Name: "m", Value: `["","cas://sha256/00?kind=value\u0026size=1"]`},
		{Name: "sluice-count", Value: "2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Aggregate (-want +got):\n%s", diff)
	}
	for i, it := range its {
		if diff := cmp.Diff(it, cachedstep.Element(got, i)); diff != "" {
			t.Errorf("Element(%d) (-want +got):\n%s", i, diff)
		}
	}
	if got := cachedstep.Aggregate(nil); !cmp.Equal(got, []v1beta1.CustomRunResult{{Name: "sluice-count", Value: "0"}}) {
		t.Errorf("Aggregate(nil) = %v", got)
	}
}
