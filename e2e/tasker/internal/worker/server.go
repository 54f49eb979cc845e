package worker

import (
	"net/http"

	"github.com/traceproof/traceproof/e2e/tasker/internal/httpjson"
)

// Handler serves GET /health and GET /metrics/events.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(rw http.ResponseWriter, _ *http.Request) {
		httpjson.Write(rw, http.StatusOK, httpjson.Health{
			Status: "ok", InstanceID: w.cfg.InstanceID, Role: "worker", Namespace: w.cfg.Namespace,
		})
	})
	mux.HandleFunc("GET /metrics/events", func(rw http.ResponseWriter, _ *http.Request) {
		httpjson.Write(rw, http.StatusOK, w.router.Snapshot(w.cfg.InstanceID))
	})
	return mux
}
