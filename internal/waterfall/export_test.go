package waterfall

import (
	"net/http"
	"time"
)

// TuneLive sets a live handler's stats interval, batch spacing and a hook
// called when a stream ends, before it serves.
func TuneLive(h http.Handler, statsEvery, minGap time.Duration, streamEnded func()) {
	l := h.(*live)
	l.statsEvery, l.minGap, l.streamEnded = statsEvery, minGap, streamEnded
}

// ActiveStreams counts a live handler's open event streams.
func ActiveStreams(h http.Handler) int64 { return h.(*live).streams.Load() }
