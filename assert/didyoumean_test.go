package assert

import "testing"

func TestClosest(t *testing.T) {
	for _, c := range []struct {
		asked string
		cands []string
		want  string
	}{
		{"order.shipped", []string{"order.shiped", "payment.processed"}, "order.shiped"},
		{"order.shipped", []string{"Order_Shipped"}, "Order_Shipped"},
		{"order-A1", []string{"order-A2", "order-B7"}, "order-A2"},
		{"order.shipped", []string{"order.shipped", "order.shiped"}, ""},
		{"payment.processed", []string{"inventory.updated"}, ""},
		{"ab", []string{"xy"}, ""},
		{"publish_event", []string{"publish_evnt", "publish_even"}, "publish_evnt"},
	} {
		if got := closest(c.asked, c.cands); got != c.want {
			t.Errorf("closest(%q, %q) = %q, want %q", c.asked, c.cands, got, c.want)
		}
	}
	if got := DidYouMean("correlation", "order-A1", []string{"order-A2"}); got != `did you mean correlation "order-A2"?` {
		t.Errorf("DidYouMean = %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"é", "e", 1}, {"abc", "abc", 0}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
