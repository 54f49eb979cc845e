package assert_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traceproof/traceproof/assert"
	"github.com/traceproof/traceproof/assert/domainevent"
	"github.com/traceproof/traceproof/internal/asserttest"
	"github.com/traceproof/traceproof/spanstore"
)

// Not parallel: it sets the environment.
func TestFailureDumpsSpansNamedAfterTheTest(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(assert.EnvDumpDir, dir)
	st := spanstore.New()
	asserttest.ReferenceWorkflow(st, "c-1")
	asserttest.ReferenceWorkflow(st, "c-2")

	var msgs []string
	t.Run("sub test/one", func(t *testing.T) {
		for range 2 { // a second failure must not overwrite the first dump
			rec := asserttest.Record(t, func(tb testing.TB) {
				domainevent.On(assert.On(tb, st)).Published("c-1", domainevent.Fast("order.validated"))
			})
			msgs = append(msgs, rec.Message(t))
		}
	})
	base := filepath.Join(dir, "TestFailureDumpsSpansNamedAfterTheTest_sub_test_one")
	asserttest.Contains(t, msgs[0], "spans dumped to: "+base+".otlp.json, "+base+".tree.txt, "+base+".html")
	asserttest.Contains(t, msgs[1], "spans dumped to: "+base+"-2.otlp.json, "+base+"-2.tree.txt")

	loaded, err := spanstore.LoadFile(base + ".otlp.json")
	if err != nil {
		t.Fatal(err)
	}
	// The correlation's 9 spans, none of c-2's.
	if n := loaded.Len(); n != 9 || len(loaded.Correlated("c-1")) != 9 {
		t.Errorf("dump holds %d spans, %d of c-1", n, len(loaded.Correlated("c-1")))
	}
	tree, err := os.ReadFile(base + ".tree.txt")
	if err != nil {
		t.Fatal(err)
	}
	asserttest.Contains(t, string(tree), `expected correlation "c-1" to publish exactly these domain events`,
		"✗ unexpected: payment.processed (Durable) routed on worker-rust-2",
		"└─ publish_event [worker-rust-2]", "· Domain event published successfully")
	if strings.Contains(string(tree), "spans dumped to") {
		t.Errorf("the tree file names itself")
	}
	page, err := os.ReadFile(base + ".html")
	if err != nil {
		t.Fatal(err)
	}
	// The page is self-contained: its report, its spans and no network.
	asserttest.Contains(t, string(page), `to publish exactly these domain events`, "payment.processed", "<script")
	if strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
		t.Errorf("the failure page refers to the network")
	}
}

func TestSanitizedDumpNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := &assert.Failure{Asked: "x", Found: "y"}
	if err := f.WriteDump(dir, "../Test A/b#01:*"); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "_Test_A_b_01__.otlp.json")
	if len(f.DumpFiles) != 3 || f.DumpFiles[0] != want || f.DumpFiles[2] != filepath.Join(dir, "_Test_A_b_01__.html") {
		t.Errorf("dump files %q, want %s first", f.DumpFiles, want)
	}
}
