package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// judge decides whether t's resources stayed flat after the warm-up, and
// that nothing failed.
func judge(t *Target, c config, inProcess bool) string {
	var problems []string
	if len(t.Errors) > 0 {
		problems = append(problems, fmt.Sprintf("%d errors, the first: %s", len(t.Errors), t.Errors[0]))
	}
	post := postWarmup(t.Samples, c.warmup)
	if len(post) < 3 {
		problems = append(problems, fmt.Sprintf("only %d samples after the warm-up (-warmup %s, and the store at its cap of %d spans); soak longer", len(post), c.warmup, c.maxSpans))
		return strings.Join(problems, "; ")
	}
	slack := 4*c.conns + 16
	check := func(name string, f func(Sample) int, slack int) {
		lo, hi := minMax(post, f)
		if hi > lo+slack {
			problems = append(problems, fmt.Sprintf("%s ranged from %d to %d after the warm-up (allowed: %d more than the lowest)", name, lo, hi, slack))
		}
	}
	if inProcess {
		check("goroutines", func(s Sample) int { return s.Goroutines }, slack)
	} else {
		check("threads", func(s Sample) int { return s.Threads }, slack)
	}
	check("open files", func(s Sample) int { return s.OpenFiles }, c.conns+8)
	for _, m := range []struct {
		name string
		f    func(Sample) int64
	}{{"RSS", func(s Sample) int64 { return s.RSSKiB }}, {"the live heap", func(s Sample) int64 { return s.HeapLiveKiB }}} {
		first, last := thirds(post, m.f)
		if first <= 0 {
			problems = append(problems, m.name+" was not measured")
			continue
		}
		if growth := float64(last-first) / float64(first); growth > c.rssSlack {
			problems = append(problems, fmt.Sprintf("%s grew by %.0f%% after the warm-up (median of the first third %d MiB, of the last %d MiB; allowed %.0f%%)",
				m.name, 100*growth, first>>10, last>>10, 100*c.rssSlack))
		}
	}
	if len(problems) == 0 {
		return "flat"
	}
	return strings.Join(problems, "; ")
}

// postWarmup is the samples after the warm-up: from the first that is at
// least warmup in and sees the store at its cap (RSS grows until then).
func postWarmup(s []Sample, warmup time.Duration) []Sample {
	for i, x := range s {
		if x.T >= warmup.Seconds() && x.Full {
			return s[i:]
		}
	}
	return nil
}

func minMax(s []Sample, f func(Sample) int) (lo, hi int) {
	lo, hi = f(s[0]), f(s[0])
	for _, x := range s[1:] {
		lo, hi = min(lo, f(x)), max(hi, f(x))
	}
	return lo, hi
}

// thirds is the median of f over the first and over the last third of s.
func thirds(s []Sample, f func(Sample) int64) (first, last int64) {
	n := max(len(s)/3, 1)
	med := func(xs []Sample) int64 {
		v := make([]int64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return med(s[:n]), med(s[len(s)-n:])
}

// report writes the targets as Markdown: per target a summary of each
// resource after the warm-up, the work done, and a timeline.
func report(w io.Writer, c config, targets []*Target, took time.Duration) {
	fmt.Fprintf(w, "Soak: %s at a cap of %d spans, %d senders and %d + %d waiters per target, samples every %s, judged from the first sample at least %s in with the store at its cap.\n\n",
		took.Round(time.Second), c.maxSpans, c.conns, c.waiters, c.waiters, c.sample, c.warmup)
	for _, t := range targets {
		fmt.Fprintf(w, "**%s**: %s\n\n", t.Name, t.Verdict)
		post := postWarmup(t.Samples, c.warmup)
		if len(post) > 0 {
			fmt.Fprintf(w, "Judged from t = %.0f s (%d samples).\n\n", post[0].T, len(post))
			fmt.Fprintln(w, "| after the warm-up | lowest | highest | first | last |")
			fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
			row := func(name string, f func(Sample) int) {
				lo, hi := minMax(post, f)
				fmt.Fprintf(w, "| %s | %d | %d | %d | %d |\n", name, lo, hi, f(post[0]), f(post[len(post)-1]))
			}
			row("RSS (MiB)", func(s Sample) int { return int(s.RSSKiB >> 10) })
			row("live heap (MiB)", func(s Sample) int { return int(s.HeapLiveKiB >> 10) })
			if post[0].Goroutines > 0 {
				row("goroutines", func(s Sample) int { return s.Goroutines })
			}
			row("OS threads", func(s Sample) int { return s.Threads })
			row("open files", func(s Sample) int { return s.OpenFiles })
			fmt.Fprintln(w)
		}
		for _, n := range t.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
		for _, e := range t.Errors {
			fmt.Fprintf(w, "- ERROR: %s\n", e)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| t (s) | RSS (MiB) | live heap (MiB) | goroutines | threads | open files | stored | spans accepted |")
		fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		step := max(1, len(t.Samples)/12)
		for i, s := range t.Samples {
			if i%step != 0 && i != len(t.Samples)-1 {
				continue
			}
			g, stored := "–", "–"
			if s.Goroutines > 0 {
				g = fmt.Sprint(s.Goroutines)
				stored = fmt.Sprint(s.Stored)
			}
			fmt.Fprintf(w, "| %.0f | %d | %d | %s | %d | %d | %s | %d |\n", s.T, s.RSSKiB>>10, s.HeapLiveKiB>>10, g, s.Threads, s.OpenFiles, stored, s.Spans)
		}
		fmt.Fprintln(w)
	}
}
