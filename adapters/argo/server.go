package argo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sluice-dev/sluice/internal/kube"
)

// TokenEnv is the environment variable holding the Argo Server token,
// as the argo CLI reads it ("Bearer …"; the prefix may be left out).
const TokenEnv = "ARGO_TOKEN"

// Server submits and follows Workflows through the Argo Server's REST
// API, for users who have an Argo Server token and no Kubernetes
// credentials. Following a run polls the Workflow.
type Server struct {
	URL       string // https://argo.example.com[/base]
	Token     string
	Namespace string
	HTTP      *http.Client  // http.DefaultClient when nil
	Interval  time.Duration // between polls; 2s when zero
	Backoff   kube.Backoff
}

var workflowsGR = schema.GroupResource{Group: "argoproj.io", Resource: "workflows"}

// Submit creates the Workflow: POST /api/v1/workflows/{namespace}.
func (s *Server) Submit(ctx context.Context, wf *wfv1.Workflow) (*wfv1.Workflow, error) {
	wf = wf.DeepCopy()
	wf.Namespace = s.Namespace
	body := map[string]any{"namespace": s.Namespace, "workflow": wf}
	var out wfv1.Workflow
	err := s.Backoff.Do(ctx, "submit workflow", func(ctx context.Context) error {
		return s.call(ctx, http.MethodPost, "/api/v1/workflows/"+url.PathEscape(s.Namespace), body, &out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Get reads a Workflow: GET /api/v1/workflows/{namespace}/{name}.
func (s *Server) Get(ctx context.Context, name string) (*wfv1.Workflow, error) {
	var out wfv1.Workflow
	err := s.Backoff.Do(ctx, "get workflow "+name, func(ctx context.Context) error {
		return s.call(ctx, http.MethodGet, s.path(name), nil, &out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Stop stops a Workflow: PUT /api/v1/workflows/{namespace}/{name}/stop.
func (s *Server) Stop(ctx context.Context, name string) error {
	body := map[string]string{"namespace": s.Namespace, "name": name}
	return s.Backoff.Do(ctx, "stop workflow "+name, func(ctx context.Context) error {
		return s.call(ctx, http.MethodPut, s.path(name)+"/stop", body, nil)
	})
}

// Follow polls the Workflow until each says it is done or ctx ends.
func (s *Server) Follow(ctx context.Context, name string, each func(*wfv1.Workflow) bool) (*wfv1.Workflow, error) {
	every := s.Interval
	if every <= 0 {
		every = 2 * time.Second
	}
	var last *wfv1.Workflow
	for {
		wf, err := s.Get(ctx, name)
		if err != nil {
			return last, err
		}
		last = wf
		if each(wf) {
			return wf, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(every):
		}
	}
}

func (s *Server) path(name string) string {
	return "/api/v1/workflows/" + url.PathEscape(s.Namespace) + "/" + url.PathEscape(name)
}

// call does one request. A failure is an API status error, so that
// kube.Retriable tells passing faults (429, 5xx) from lasting ones.
func (s *Server) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(s.URL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok := strings.TrimSpace(s.Token); tok != "" {
		if !strings.HasPrefix(tok, "Bearer ") {
			tok = "Bearer " + tok
		}
		req.Header.Set("Authorization", tok)
	}
	hc := s.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		// The Argo Server answers errors as {"code": N, "message": "…"}.
		var e struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		st := metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    int32(resp.StatusCode),
			Reason:  reason(resp.StatusCode),
			Message: fmt.Sprintf("argo server: %s %s: %s", method, path, msg),
			Details: &metav1.StatusDetails{Group: workflowsGR.Group, Kind: workflowsGR.Resource},
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && ra > 0 {
			st.Details.RetryAfterSeconds = int32(ra)
		}
		return &apierrors.StatusError{ErrStatus: st}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("argo server: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// reason is the API status reason of an HTTP status code, as the API
// server would give it.
func reason(code int) metav1.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	case http.StatusUnauthorized:
		return metav1.StatusReasonUnauthorized
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	case http.StatusNotFound:
		return metav1.StatusReasonNotFound
	case http.StatusConflict:
		return metav1.StatusReasonConflict
	case http.StatusTooManyRequests:
		return metav1.StatusReasonTooManyRequests
	case http.StatusInternalServerError:
		return metav1.StatusReasonInternalError
	case http.StatusServiceUnavailable:
		return metav1.StatusReasonServiceUnavailable
	case http.StatusGatewayTimeout:
		return metav1.StatusReasonTimeout
	}
	return metav1.StatusReasonUnknown
}
