package main

import (
	"strings"
	"testing"
	"time"
)

func samples(n int, f func(i int) Sample) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = f(i)
		out[i].T = float64(10 * i)
		out[i].Full = i >= 2
	}
	return out
}

// TestJudge: steady resources pass; a goroutine leak, a growing live heap,
// growing open files, errors, or too short a soak each fail, saying which.
func TestJudge(t *testing.T) {
	c := config{warmup: 20 * time.Second, conns: 4, rssSlack: 0.25}
	steady := func(i int) Sample {
		return Sample{RSSKiB: 2 << 20, HeapLiveKiB: 1 << 20, Goroutines: 74 + i%3, Threads: 10, OpenFiles: 27}
	}
	for _, tc := range []struct {
		name string
		mod  func(i int, s *Sample)
		errs []string
		want string
	}{
		{"steady", nil, nil, "flat"},
		{"goroutine leak", func(i int, s *Sample) { s.Goroutines += 2 * i }, nil, "goroutines ranged from 80 to 134 after the warm-up"},
		{"heap growth", func(i int, s *Sample) { s.HeapLiveKiB += int64(i) << 16 }, nil, "the live heap grew by"},
		{"rss growth", func(i int, s *Sample) { s.RSSKiB += int64(i) << 17 }, nil, "RSS grew by"},
		{"file leak", func(i int, s *Sample) { s.OpenFiles += i }, nil, "open files ranged from 29 to"},
		{"errors", nil, []string{"wait for x: deadline"}, "1 errors, the first: wait for x: deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := &Target{Errors: tc.errs, Samples: samples(30, func(i int) Sample {
				s := steady(i)
				if tc.mod != nil {
					tc.mod(i, &s)
				}
				return s
			})}
			got := judge(tg, c, true)
			if !strings.Contains(got, tc.want) {
				t.Errorf("verdict %q, want it to contain %q", got, tc.want)
			}
		})
	}
	short := &Target{Samples: samples(4, steady)}
	if got := judge(short, c, true); !strings.Contains(got, "only 2 samples after the warm-up") {
		t.Errorf("a short soak: %q", got)
	}
}
