package system

import (
	"slices"
	"strings"
	"testing"
)

func TestParseFaults(t *testing.T) {
	rules, err := parseFaults(`traces first=2 -> unavailable; http first=1 -> 503 message="a; b";;`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.String())
	}
	if want := []string{"traces first=2 -> unavailable", `http first=1 -> 503 message="a; b"`}; !slices.Equal(got, want) {
		t.Errorf("rules %q, want %q", got, want)
	}
	_, err = parseFaults("first=2 -> unavailable; grpc -> 429")
	if err == nil || !strings.Contains(err.Error(), `TRACEPROOF_E2E_FAULTS: fault rule "grpc -> 429": HTTP status 429 on a gRPC-only rule`) {
		t.Errorf("got %v, want the bad rule named", err)
	}
}

// A rule without an instance or sender is repeated per instance, so that
// first=N counts each instance's requests; one that names either is kept.
func TestPerInstance(t *testing.T) {
	rules, err := parseFaults("first=2 -> unavailable; instance=worker-rust-* -> 503")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range perInstance(rules, ModeSingle, []string{"rust", "ruby"}) {
		got = append(got, r.String())
	}
	want := []string{
		"instance=orchestration-1 first=2 -> unavailable",
		"instance=worker-rust-1 first=2 -> unavailable",
		"instance=worker-ruby-1 first=2 -> unavailable",
		"instance=worker-rust-* -> 503",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if n := len(plannedInstances(ModeCluster, []string{"rust", "ruby", "python"})); n != 8 {
		t.Errorf("cluster mode plans %d instances, want 8", n)
	}
}
