package waterfall

import "time"

// TuneLive sets a live handler's stats interval, batch spacing and a hook
// called when a stream ends, before it serves.
func TuneLive(l *Live, statsEvery, minGap time.Duration, streamEnded func()) {
	l.statsEvery, l.minGap, l.streamEnded = statsEvery, minGap, streamEnded
}

// ActiveStreams counts a live handler's open event streams.
func ActiveStreams(l *Live) int64 { return l.streams.Load() }
