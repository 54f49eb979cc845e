package proc

import (
	"fmt"
	"testing"
)

func TestLineRing(t *testing.T) {
	r := NewLineRing(3)
	if got := r.Tail(0); got != "" {
		t.Fatalf("empty ring tail = %q", got)
	}
	for i := 1; i <= 5; i++ {
		r.Add(fmt.Sprint(i))
	}
	if got, want := r.Tail(0), "3\n4\n5\n"; got != want {
		t.Errorf("tail(0) = %q, want %q", got, want)
	}
	if got, want := r.Tail(2), "4\n5\n"; got != want {
		t.Errorf("tail(2) = %q, want %q", got, want)
	}
	if !r.Contains("4") || r.Contains("1") {
		t.Error("contains: wrong answer for kept/dropped lines")
	}
}
