package harness

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// TimeoutScaleEnv multiplies every wait of the harness (slow CI).
const TimeoutScaleEnv = "TRACEPROOF_TIMEOUT_SCALE"

func scale(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv(TimeoutScaleEnv), 64)
	if err != nil || f <= 0 {
		return d
	}
	return time.Duration(float64(d) * f)
}

// childEnv is the environment of one tasker process: the harness's own
// environment without OTEL_* variables (so a developer's shell cannot send
// test telemetry elsewhere), plus service.instance.id in
// OTEL_RESOURCE_ATTRIBUTES, plus extra (later entries win; an extra
// OTEL_RESOURCE_ATTRIBUTES is merged with the instance id).
func childEnv(base []string, instanceID string, extra []string) []string {
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(strings.ToUpper(k), "OTEL_") {
			continue
		}
		set(k, v)
	}
	const resAttrs = "OTEL_RESOURCE_ATTRIBUTES"
	set(resAttrs, "service.instance.id="+instanceID)
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		if k == resAttrs {
			if !strings.Contains(v, "service.instance.id=") {
				if v != "" {
					v += ","
				}
				v += "service.instance.id=" + instanceID
			}
		}
		set(k, v)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+vals[k])
	}
	return out
}
