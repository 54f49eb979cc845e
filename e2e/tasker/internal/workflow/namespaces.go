// Package workflow holds the workflow definitions the tasker system runs:
// the "domain_event_publishing" workflow, one per worker namespace.
package workflow

import "sort"

// Worker flavours and their namespaces.
var namespaces = map[string]string{
	"rust":   "domain_events_rust",
	"ruby":   "domain_events",
	"python": "domain_events_py",
}

// NamespaceFor returns the namespace served by a worker flavour.
func NamespaceFor(flavour string) (string, bool) {
	ns, ok := namespaces[flavour]
	return ns, ok
}

// Flavours lists the worker flavours, sorted.
func Flavours() []string {
	out := make([]string, 0, len(namespaces))
	for f := range namespaces {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Namespaces lists every namespace, sorted.
func Namespaces() []string {
	out := make([]string, 0, len(namespaces))
	for _, ns := range namespaces {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}
