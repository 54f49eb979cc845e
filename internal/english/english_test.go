package english

import "testing"

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 spans"}, {1, "1 span"}, {2, "2 spans"}, {-1, "-1 spans"}} {
		if got := Plural(c.n, "span"); got != c.want {
			t.Errorf("Plural(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	if got := Plural(uint64(1), "request"); got != "1 request" {
		t.Errorf("uint64: %q", got)
	}
}
