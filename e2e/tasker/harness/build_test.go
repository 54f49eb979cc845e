package harness

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"
)

// TestBuildSaysWhatItDoes: Build prints a line before the build, saying it
// can take minutes on a fresh machine, and one after, with the time it
// took, so a first run that compiles for minutes does not look hung.
func TestBuildSaysWhatItDoes(t *testing.T) {
	var buf bytes.Buffer
	old := progress
	progress = &buf
	t.Cleanup(func() { progress = old })
	ctx, cancel := context.WithTimeout(context.Background(), scale(defaultBuildTimeout))
	defer cancel()
	bin, err := Build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^traceproof e2e: building the reference system \(go build ` + regexp.QuoteMeta(TaskerPackage) + `\); the first build on a fresh machine downloads and compiles its dependencies and takes minutes, later ones seconds\n` +
		`traceproof e2e: built the reference system in [0-9.hms]+\n$`)
	if !want.MatchString(buf.String()) {
		t.Errorf("Build printed %q", buf.String())
	}
}
