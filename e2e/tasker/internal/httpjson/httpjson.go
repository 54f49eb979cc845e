// Package httpjson writes JSON responses for the tasker HTTP APIs.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write sends v as JSON with the given status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Error sends {"error": msg} with the given status.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, map[string]string{"error": msg})
}

// Health is the body of GET /health.
type Health struct {
	Status     string `json:"status"`
	InstanceID string `json:"instance_id"`
	Role       string `json:"role"`
	Namespace  string `json:"namespace,omitempty"`
}
