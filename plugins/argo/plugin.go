package argo

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	executorplugins "github.com/argoproj/argo-workflows/v3/pkg/plugins/executor"

	"github.com/sluice-dev/sluice/plugins/argo/check"
	"github.com/sluice-dev/sluice/plugins/probe"
)

// ExecutePath is the one method the plugin serves: Argo's agent POSTs
// each plugin node's template there (workflow/util/plugins.Client, with
// "template.execute").
const ExecutePath = "/api/v1/template.execute"

// DefaultTimeout bounds one request: below the agent's own 30 s client
// timeout, past which it would retry the call, and above the probe's.
const DefaultTimeout = 20 * time.Second

// maxBody bounds a request: a template fits in a Workflow, which etcd
// keeps under 1.5 MiB.
const maxBody = 8 << 20

// Prober looks steps up; *probe.Prober is the one used.
type Prober interface {
	Probe(ctx context.Context, req *probe.Request) *probe.Result
}

var _ Prober = (*probe.Prober)(nil)

// Plugin answers the agent's calls. It is an http.Handler.
type Plugin struct {
	// Prober decides each step.
	Prober Prober
	// Token is the agent's bearer token (the sidecar's
	// /var/run/argo/token). Every request must carry it.
	Token string
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
	// Log, when set, gets a line per step looked up.
	Log *log.Logger
}

var _ http.Handler = (*Plugin)(nil)

// ServeHTTP implements http.Handler: 403 without the token; 404 for a
// method other than template.execute (the agent then stops calling it);
// 400 for a body that is not a request at all; else 200 and a reply.
func (p *Plugin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		http.Error(w, "sluice: forbidden", http.StatusForbidden)
		return
	}
	if r.URL.Path != ExecutePath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "sluice: POST only", http.StatusMethodNotAllowed)
		return
	}
	var args executorplugins.ExecuteTemplateArgs
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&args); err != nil {
		// Nobody's template: the agent fails the node with this reason,
		// and a Sluice step runs after a failed check.
		http.Error(w, "sluice: malformed request: "+err.Error(), http.StatusBadRequest)
		return
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	reply := p.Execute(ctx, &args)
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(reply); err != nil {
		p.logf("reply: %v", err)
	}
}

// authorized compares the bearer token in constant time, so that its
// bytes cannot be guessed from how long a refusal takes.
func (p *Plugin) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && p.Token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.Token)) == 1
}

// Execute answers one template: {} when it is not Sluice's, else the
// check's node.
func (p *Plugin) Execute(ctx context.Context, args *executorplugins.ExecuteTemplateArgs) *executorplugins.ExecuteTemplateReply {
	if args.Template == nil || args.Template.Plugin == nil {
		return &executorplugins.ExecuteTemplateReply{}
	}
	var value map[string]json.RawMessage
	if err := json.Unmarshal(args.Template.Plugin.Value, &value); err != nil {
		return &executorplugins.ExecuteTemplateReply{}
	}
	raw, ok := value[check.Key]
	if !ok {
		return &executorplugins.ExecuteTemplateReply{}
	}
	var wf executorplugins.ObjectMeta
	if args.Workflow != nil {
		wf = args.Workflow.ObjectMeta
	}
	req, err := parseRequest(raw)
	if err != nil {
		res := probe.Malformed(err)
		p.logf("workflow %s/%s: %s", wf.Namespace, wf.Name, res.Message())
		return reply(res)
	}
	res := p.Prober.Probe(ctx, &probe.Request{Args: req.Args, Namespace: wf.Namespace, Secret: req.Secret})
	p.logf("workflow %s/%s: %s", wf.Namespace, wf.Name, res.Message())
	return reply(res)
}

func parseRequest(raw json.RawMessage) (*check.Request, error) {
	var req check.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, err
	}
	if len(req.Args) == 0 {
		return nil, errors.New("no args: want {" + check.Key + ": {args: [the launcher's arguments], secret: NAME}}")
	}
	return &req, nil
}

// reply is the node a probe's result makes. A hit returns each output
// under its own name (the launcher's params.X and artifacts.X are both
// parameter X of the container template), as the template's outputs
// would hold them after a run.
func reply(res *probe.Result) *executorplugins.ExecuteTemplateReply {
	node := &wfv1.NodeResult{Phase: wfv1.NodeSucceeded, Message: res.Message()}
	switch {
	case res.Hit:
		node.Outputs = &wfv1.Outputs{}
		for _, k := range slices.Sorted(maps.Keys(res.Outputs)) {
			node.Outputs.Parameters = append(node.Outputs.Parameters, wfv1.Parameter{Name: check.Param(k), Value: wfv1.AnyStringPtr(res.Outputs[k])})
		}
		node.Outputs.Parameters = append(node.Outputs.Parameters, wfv1.Parameter{Name: check.OutputCached, Value: wfv1.AnyStringPtr("true")})
	case res.Fault:
		node.Outputs = &wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: check.OutputFault, Value: wfv1.AnyStringPtr(res.Reason)}}}
	}
	return &executorplugins.ExecuteTemplateReply{Node: node}
}

func (p *Plugin) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log.Printf(format, args...)
	}
}
