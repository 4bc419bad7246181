package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/adapters/local"
	"github.com/sluice-dev/sluice/cache"
	"github.com/sluice-dev/sluice/internal/report"
	"github.com/sluice-dev/sluice/ir"
)

func TestParallelismBound(t *testing.T) {
	// Eight independent steps that each record how many run at once, with
	// a bound of 2: the high-water mark must be 2, never more.
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("  steps:\n")
	for i := range 8 {
		fmt.Fprintf(&b, `    - name: s%d
      cache: {enabled: false}
      command: [sh, -c, 'mkdir %[2]s/s%[1]d; n=$(ls %[2]s | wc -l); echo $n >> %[3]s/marks; sleep 0.2; rmdir %[2]s/s%[1]d']
`, i, filepath.Join(dir, "running"), dir)
	}
	if err := os.Mkdir(filepath.Join(dir, "running"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	sum, _ := e.run(mustParse(t, b.String()), nil, func(o *local.Options) { o.Parallel = 2 })
	if sum.Status != report.Succeeded {
		t.Fatalf("status %s", sum.Status)
	}
	marks, _ := os.ReadFile(filepath.Join(dir, "marks"))
	high := 0
	for _, l := range strings.Fields(string(marks)) {
		n, _ := strconv.Atoi(l)
		high = max(high, n)
	}
	if high != 2 {
		t.Errorf("most steps running at once = %d, want 2 (marks %q)", high, marks)
	}
}

func TestOrderingAfterAndStartWhenReady(t *testing.T) {
	// slow does not hold up c, which only needs a; d comes after slow.
	dir := t.TempDir()
	log := filepath.Join(dir, "order")
	p := mustParse(t, fmt.Sprintf(`
  steps:
    - {name: a, cache: {enabled: false}, command: [sh, -c, 'echo a >> %[1]s']}
    - {name: slow, cache: {enabled: false}, command: [sh, -c, 'sleep 0.5; echo slow >> %[1]s']}
    - {name: c, cache: {enabled: false}, after: [a], command: [sh, -c, 'echo c >> %[1]s']}
    - {name: d, cache: {enabled: false}, after: [slow, c], command: [sh, -c, 'echo d >> %[1]s']}
`, log))
	e := newEnv(t)
	e.run(p, nil)
	got, _ := os.ReadFile(log)
	if diff := cmp.Diff("a\nc\nslow\nd\n", string(got)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestForEachListOutputAndParallelism(t *testing.T) {
	p := mustParse(t, `
  params: [{name: grid, type: list, default: [1, 2, 3, 4]}]
  steps:
    - name: sq
      forEach: {items: '${{ params.grid }}', parallelism: 2}
      command: [sh, -c, 'echo $(( ${{ item }} * ${{ item }} )) > ${{ outputs.params.v }}']
      outputs: {params: [{name: v, type: int}, {name: s}]}
      args: []
    - name: names
      forEach: {items: [{k: a}, {k: b}]}
      command: [sh, -c, 'printf "%s-x" ${{ item.k }} > ${{ outputs.params.s }}']
      outputs: {params: [{name: s}]}
    - name: all
      command: [sh, -c, 'echo "$V $S" > ${{ outputs.params.out }}']
      env: [{name: V, value: '${{ steps.sq.outputs.params.v }}'}, {name: S, value: '${{ steps.names.outputs.params.s }}'}]
      outputs: {params: [{name: out}]}
`)
	// sq declares s but never writes it: fix the fixture to only declare v.
	p.Spec.Steps[0].Outputs.Params = p.Spec.Steps[0].Outputs.Params[:1]
	e := newEnv(t)
	sum, _ := e.run(p, nil)
	if sum.Status != report.Succeeded {
		t.Fatalf("status %s: %+v", sum.Status, sum.Steps)
	}
	if diff := cmp.Diff(`[1,4,9,16] ["a-x","b-x"]`, outputs(sum, "all")["out"]); diff != "" {
		t.Errorf("list outputs (-want +got):\n%s", diff)
	}
	st := states(sum)
	for _, name := range []string{"sq[0]", "sq[3]", "names[1]"} {
		if st[name] != report.Succeeded {
			t.Errorf("%s is %s", name, st[name])
		}
	}
}

func TestWhenSkipsAndPropagates(t *testing.T) {
	p := mustParse(t, `
  params: [{name: n, type: int, default: 10}, {name: mode, default: full}]
  steps:
    - name: count
      command: [sh, -c, 'echo ${{ params.n }} > ${{ outputs.params.c }}']
      outputs: {params: [{name: c, type: int}]}
    - name: big
      when: '${{ steps.count.outputs.params.c }} > 9'
      command: [sh, -c, 'echo big > ${{ outputs.params.o }}']
      outputs: {params: [{name: o}]}
    - name: small
      when: '${{ steps.count.outputs.params.c }} < 9 || "${{ params.mode }}-v2" == "lite-v2"'
      command: [sh, -c, 'echo small > ${{ outputs.params.o }}']
      outputs: {params: [{name: o}]}
    - name: uses-small
      command: [sh, -c, 'echo ${{ steps.small.outputs.params.o }}']
    - name: after-small
      after: [small]
      command: [sh, -c, 'true']
`)
	e := newEnv(t)
	sum, _ := e.run(p, nil)
	want := map[string]report.State{
		"count": report.Succeeded, "big": report.Succeeded, "small": report.Skipped,
		"uses-small": report.Skipped, "after-small": report.Succeeded,
	}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if sum.Status != report.Succeeded {
		t.Errorf("status %s, want Succeeded", sum.Status)
	}
}

func TestRetriesThenSucceed(t *testing.T) {
	dir := t.TempDir()
	p := mustParse(t, fmt.Sprintf(`
  steps:
    - name: flaky
      retry: {limit: 3, backoff: {duration: 10ms, factor: 2}}
      command: [sh, -c, 'echo x >> %[1]s/tries; [ $(wc -l < %[1]s/tries) -ge 3 ]']
`, dir))
	e := newEnv(t)
	sum, ev := e.run(p, nil)
	if sum.Status != report.Succeeded {
		t.Fatalf("status %s", sum.Status)
	}
	retrying := 0
	for _, x := range ev.all {
		if x.State == report.Retrying {
			retrying++
		}
	}
	if retrying != 2 || sum.Steps[0].Attempts != 3 {
		t.Errorf("retrying events %d, attempts %d; want 2 and 3", retrying, sum.Steps[0].Attempts)
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child")
	p := mustParse(t, fmt.Sprintf(`
  steps:
    - name: hang
      timeout: 300ms
      command: [sh, -c, 'sleep 30 & echo $! > %s; wait']
`, pidfile))
	e := newEnv(t)
	start := time.Now()
	sum, _ := e.run(p, nil)
	if sum.Status != report.Failed || !strings.Contains(sum.Steps[0].Message, "timed out") {
		t.Fatalf("status %s, message %q; want Failed, timed out", sum.Status, sum.Steps[0].Message)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	b, _ := os.ReadFile(pidfile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	time.Sleep(100 * time.Millisecond)
	if pid > 0 && alive(pid) {
		t.Errorf("child %d of the timed-out step is still running", pid)
	}
}

func TestFailureStopsNewStepsAndOnExitSeesStatus(t *testing.T) {
	dir := t.TempDir()
	p := mustParse(t, fmt.Sprintf(`
  steps:
    - {name: bad, command: [sh, -c, 'exit 3']}
    - {name: long, cache: {enabled: false}, command: [sh, -c, 'sleep 0.3; echo done > %[1]s/long']}
    - {name: next, after: [bad], command: [sh, -c, 'true']}
    - {name: later, after: [long], command: [sh, -c, 'true']}
  onExit:
    - {name: report, cache: {enabled: false}, command: [sh, -c, 'echo ${{ pipeline.status }} > %[1]s/status']}
`, dir))
	e := newEnv(t)
	sum, _ := e.run(p, nil)
	want := map[string]report.State{
		"bad": report.Failed, "long": report.Succeeded, "next": report.Skipped,
		"later": report.Skipped, "report": report.Succeeded,
	}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if sum.Status != report.Failed {
		t.Errorf("status %s, want Failed", sum.Status)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "long")); string(b) != "done\n" {
		t.Errorf("the running branch did not finish")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "status")); string(b) != "Failed\n" {
		t.Errorf("onExit saw status %q, want Failed", b)
	}
}

func TestInjectionReachesProcessVerbatim(t *testing.T) {
	values := []string{
		"{{workflow.name}}", "{{=sprig.env(\"HOME\")}}", "$(params.x)", "${HOME}", "$HOME",
		";rm -rf /tmp/nothing-here", `"double" 'single' \back`, "line1\nline2", "$${{ params.v }}", "$",
	}
	for i, v := range values {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			p := mustParse(t, fmt.Sprintf(`
  params: [{name: v}]
  steps:
    - name: echo
      command: [sh, -c, 'printf %%s "$1" > %[1]s', sh, '${{ params.v }}']
      env: [{name: V, value: '${{ params.v }}'}]
    - name: env
      command: [sh, -c, 'printf %%s "$V" > %[1]s.env']
      env: [{name: V, value: '${{ params.v }}'}]
`, out))
			e := newEnv(t)
			sum, _ := e.run(p, map[string]string{"v": v})
			if sum.Status != report.Succeeded {
				t.Fatalf("status %s: %+v", sum.Status, sum.Steps)
			}
			for _, f := range []string{out, out + ".env"} {
				got, _ := os.ReadFile(f)
				if string(got) != v {
					t.Errorf("%s: got %q, want %q", filepath.Base(f), got, v)
				}
			}
		})
	}
}

func TestCacheInvalidation(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.WriteFile(src, []byte("1\n"), 0o644)
	p := mustParse(t, fmt.Sprintf(`
  params: [{name: a, default: x}, {name: b, default: y}]
  steps:
    - {name: read, cache: {enabled: false}, command: [sh, -c, 'cp %s ${{ outputs.artifacts.f }}'], outputs: {artifacts: [{name: f}]}}
    - {name: use-file, command: [sh, -c, 'cat ${{ steps.read.outputs.artifacts.f }}']}
    - {name: pa, command: [sh, -c, 'echo ${{ params.a }} > ${{ outputs.params.o }}'], outputs: {params: [{name: o}]}}
    - {name: pa2, command: [sh, -c, 'echo ${{ steps.pa.outputs.params.o }}']}
    - {name: pb, command: [sh, -c, 'echo ${{ params.b }}']}
    - {name: ttl, cache: {ttl: 1s}, command: [sh, -c, 'true']}
`, src))
	e := newEnv(t)
	e.run(p, nil)
	sum, _ := e.run(p, map[string]string{"a": "z"})
	want := map[string]report.State{
		"read": report.Succeeded, "use-file": report.Cached, "pa": report.Succeeded,
		"pa2": report.Succeeded, "pb": report.Cached, "ttl": report.Cached,
	}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("after changing a (-want +got):\n%s", diff)
	}
	os.WriteFile(src, []byte("2\n"), 0o644)
	time.Sleep(1100 * time.Millisecond)
	sum, _ = e.run(p, map[string]string{"a": "z"})
	want = map[string]report.State{
		"read": report.Succeeded, "use-file": report.Succeeded, "pa": report.Cached,
		"pa2": report.Cached, "pb": report.Cached, "ttl": report.Succeeded,
	}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("after changing the file and waiting out the TTL (-want +got):\n%s", diff)
	}
}

func TestCorruptBlobIsAMiss(t *testing.T) {
	p := mustParse(t, `
  steps:
    - {name: w, command: [sh, -c, 'echo data > ${{ outputs.artifacts.f }}'], outputs: {artifacts: [{name: f}]}}
`)
	e := newEnv(t)
	sum, _ := e.run(p, nil)
	// Flip the blob's content behind the store's back.
	var d cache.Digest
	e.store.ListBlobs(context.Background(), func(dg cache.Digest, _ int64, _ time.Time) error { d = dg; return nil })
	fs := e.store.(*cache.FSStore)
	if err := fs.CorruptBlob(d); err != nil {
		t.Fatal(err)
	}
	sum, _ = e.run(p, nil)
	if st := states(sum)["w"]; st != report.Succeeded {
		t.Fatalf("after corruption: w is %s, want Succeeded (a corrupt blob is a miss)", st)
	}
	sum, _ = e.run(p, nil)
	if st := states(sum)["w"]; st != report.Cached {
		t.Fatalf("after the rerun: w is %s, want Cached", st)
	}
}

func TestConcurrentRunsShareOneCache(t *testing.T) {
	p := mustParse(t, `
  steps:
    - {name: a, command: [sh, -c, 'seq 1 1000 > ${{ outputs.artifacts.f }}'], outputs: {artifacts: [{name: f}]}}
    - {name: b, command: [sh, -c, 'wc -l < ${{ steps.a.outputs.artifacts.f }} > ${{ outputs.params.n }}'], outputs: {params: [{name: n, type: int}]}}
    - {name: c, command: [sh, -c, 'mkdir ${{ outputs.artifacts.d }}; echo ${{ steps.b.outputs.params.n }} > ${{ outputs.artifacts.d }}/n'], outputs: {artifacts: [{name: d}]}}
`)
	e := newEnv(t)
	params, _ := p.ResolveParams(nil)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			sum, err := local.Run(context.Background(), p, params, local.Options{Store: e.store, RunsDir: e.runs, Parallel: 2})
			if err == nil && sum.Status != report.Succeeded {
				err = fmt.Errorf("status %s", sum.Status)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	sum, _ := e.run(p, nil)
	for name, st := range states(sum) {
		if st != report.Cached {
			t.Errorf("after 8 runs: %s is %s, want Cached", name, st)
		}
	}
	verifyStore(t, e.store)
}

// verifyStore reads every blob back through its digest check.
func verifyStore(t *testing.T, s cache.Store) {
	t.Helper()
	ctx := context.Background()
	var ds []cache.Digest
	s.ListBlobs(ctx, func(d cache.Digest, _ int64, _ time.Time) error { ds = append(ds, d); return nil })
	for _, d := range ds {
		r, err := s.OpenBlob(ctx, d)
		if err != nil {
			t.Errorf("blob %s: %v", d, err)
			continue
		}
		if _, err := io.ReadAll(r); err != nil {
			t.Errorf("blob %s: %v", d, err)
		}
		r.Close()
	}
	err := s.ListEntries(ctx, func(en *cache.Entry) error {
		for name, a := range en.Artifacts {
			if _, err := s.StatBlob(ctx, a.Digest); err != nil {
				t.Errorf("entry %s (%s): artifact %s: %v", en.Key, en.Step, name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// TestKilledRunResumes kills a real run with SIGKILL while a step sleeps,
// then reruns: every step that had finished is a hit, and the cache holds
// nothing torn.
func TestKilledRunResumes(t *testing.T) {
	if os.Getenv("SLUICE_TEST_CHILD") != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	pipe := filepath.Join(dir, "p.yaml")
	marker := filepath.Join(dir, "started")
	os.WriteFile(pipe, []byte(header+fmt.Sprintf(`
  steps:
    - {name: one, command: [sh, -c, 'seq 1 100000 > ${{ outputs.artifacts.f }}'], outputs: {artifacts: [{name: f}]}}
    - {name: two, command: [sh, -c, 'wc -l < ${{ steps.one.outputs.artifacts.f }} > ${{ outputs.params.n }}'], outputs: {params: [{name: n}]}}
    - {name: slow, after: [two], command: [sh, -c, 'touch %s; sleep 30']}
`, marker)), 0o644)
	cacheDir := filepath.Join(dir, "cache")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestChildRun$")
	cmd.Env = append(os.Environ(), "SLUICE_TEST_CHILD="+pipe, "SLUICE_TEST_CACHE="+cacheDir, "SLUICE_TEST_RUNS="+filepath.Join(dir, "runs"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child run never reached the slow step")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	store, err := cache.NewFS(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	verifyStore(t, store)
	e := &env{t: t, store: store, runs: filepath.Join(dir, "runs")}
	b, _ := os.ReadFile(pipe)
	os.WriteFile(pipe, []byte(strings.Replace(string(b), "sleep 30", "true", 1)), 0o644)
	p := mustParse(t, strings.TrimPrefix(strings.Replace(string(b), "sleep 30", "true", 1), header))
	sum, _ := e.run(p, nil)
	want := map[string]report.State{"one": report.Cached, "two": report.Cached, "slow": report.Succeeded}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("rerun after SIGKILL (-want +got):\n%s", diff)
	}
}

// TestChildRun is the child process of TestKilledRunResumes.
func TestChildRun(t *testing.T) {
	pipe := os.Getenv("SLUICE_TEST_CHILD")
	if pipe == "" {
		t.Skip("only runs as the child of TestKilledRunResumes")
	}
	p, err := ir.Load(pipe)
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.NewFS(os.Getenv("SLUICE_TEST_CACHE"))
	if err != nil {
		t.Fatal(err)
	}
	params, _ := p.ResolveParams(nil)
	local.Run(context.Background(), p, params, local.Options{Store: store, RunsDir: os.Getenv("SLUICE_TEST_RUNS")})
}

// alive reports whether pid runs; a zombie (killed, not yet reaped by an
// init that may never reap it in a sandbox) does not.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// TestInterruptStopsCleanly cancels a run (Ctrl-C) while one step sleeps:
// the run stops at once, the sleeping step's process group is gone and
// no entry is written for it, and what finished before stays cached.
func TestInterruptStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	p := mustParse(t, fmt.Sprintf(`
  steps:
    - {name: first, command: [sh, -c, 'echo 1 > ${{ outputs.params.v }}'], outputs: {params: [{name: v}]}}
    - {name: sleeper, after: [first], command: [sh, -c, 'test -e %[1]s.done && exit 0; touch %[1]s; sleep 30']}
    - {name: never, after: [sleeper], command: [sh, -c, 'true']}
`, started))
	e := newEnv(t)
	params, _ := p.ResolveParams(nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(started); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	begin := time.Now()
	sum, err := local.Run(ctx, p, params, local.Options{Store: e.store, RunsDir: e.runs})
	if !errors.Is(err, local.ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("stopping took %s", d)
	}
	want := map[string]report.State{"first": report.Succeeded, "sleeper": report.Failed, "never": report.Skipped}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	verifyStore(t, e.store)
	os.WriteFile(started+".done", nil, 0o644)
	sum, _ = e.run(p, nil)
	if st := states(sum)["first"]; st != report.Cached {
		t.Errorf("after the interrupt, first is %s, want Cached", st)
	}
}
