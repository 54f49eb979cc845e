package spanstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/traceproof/traceproof/internal/english"
)

// MaxDumpLineBytes bounds one line (or one object printed over several
// lines) of an OTLP/JSON lines file: a longer one is reported and skipped,
// never held in memory whole.
const MaxDumpLineBytes = 256 << 20

// maxLineErrors is how many LineErrors a LoadReport keeps; BadLines counts
// them all.
const maxLineErrors = 100

// LineError is a line of an OTLP/JSON lines file that did not load (or, for
// an object printed over several lines, those lines), with a message in the
// user's terms: which field is wrong and what OTLP/JSON wants there.
type LineError struct {
	// Name is the file's name, as given to the loader.
	Name string
	// Line is the 1-based line number; EndLine the last line of an object
	// printed over several (equal to Line otherwise).
	Line, EndLine int
	// Column is the 1-based byte column in Line where the problem is, or 0
	// when the message names the field instead.
	Column int
	Msg    string
}

func (e *LineError) Error() string {
	where := fmt.Sprintf("%s:%d", e.Name, e.Line)
	switch {
	case e.EndLine > e.Line:
		where += fmt.Sprintf("-%d", e.EndLine)
	case e.Column > 0:
		where += fmt.Sprintf(":%d", e.Column)
	}
	return where + ": " + e.Msg
}

// LoadReport is what the loader read from one OTLP/JSON lines file: the
// good lines are stored, the bad ones listed, nothing skipped silently.
type LoadReport struct {
	Name string
	// Spans counts the spans stored.
	Spans int
	// Objects counts the OTLP/JSON traces objects loaded; Multiline those of
	// them printed over several lines (a pretty-printed request).
	Objects, Multiline int
	// OtherSignals counts objects holding metrics or logs, skipped.
	OtherSignals int
	// Rejected counts spans dropped for all-zero trace or span IDs (their
	// lines are in Errors too).
	Rejected int
	// Errors lists the first 100 lines that did not load, in file order;
	// BadLines counts them all.
	Errors   []LineError
	BadLines int
}

// Err is nil when every line loaded, else an error that lists the bad
// lines (errors.As finds each *LineError).
func (r LoadReport) Err() error {
	if r.BadLines == 0 {
		return nil
	}
	errs := []error{fmt.Errorf("%s: %s did not load (%s loaded)", r.Name, english.Plural(r.BadLines, "line"), english.Plural(r.Spans, "span"))}
	for i := range r.Errors {
		errs = append(errs, &r.Errors[i])
	}
	if n := r.BadLines - len(r.Errors); n > 0 {
		errs = append(errs, fmt.Errorf("%s: and %d more", r.Name, n))
	}
	return errors.Join(errs...)
}

// LoadOTLPJSONReport reads OTLP/JSON lines into the store, attributing them
// to name (the file's name, kept as each span's Origin.Sender), and reports
// every line that did not load instead of stopping at the first: a dump with
// one damaged line still yields all the others. One object per line is the
// format (the Collector's file exporter, traceproof serve --out, the
// TRACEPROOF_DUMP_DIR dumps); an object pretty-printed over several lines,
// its opening "{" alone on a line, is accepted too. A last line cut short
// (a writer killed mid-write) is reported as such. Lines holding metrics or
// logs are counted and skipped. The error is only for reading r.
func (st *Store) LoadOTLPJSONReport(r io.Reader, name string) (LoadReport, error) {
	l := loader{st: st, rep: LoadReport{Name: name}, br: bufio.NewReaderSize(r, 1<<20),
		origin: Origin{Sender: name, Transport: TransportFile, Encoding: EncodingJSON}}
	err := l.run()
	return l.rep, err
}

type loader struct {
	st     *Store
	rep    LoadReport
	br     *bufio.Reader
	origin Origin
	um     ptrace.JSONUnmarshaler
	lineNo int
	// a pretty-printed object being gathered
	block      []byte
	blockStart int
	blockScan  depthScanner
}

func (l *loader) bad(e LineError) {
	e.Name = l.rep.Name
	if e.EndLine < e.Line {
		e.EndLine = e.Line
	}
	l.rep.BadLines++
	if len(l.rep.Errors) < maxLineErrors {
		l.rep.Errors = append(l.rep.Errors, e)
	}
}

func (l *loader) run() error {
	for {
		line, complete, tooLong, err := l.readLine()
		if err != nil {
			return fmt.Errorf("%s: %w", l.rep.Name, err)
		}
		if line == nil && !tooLong {
			l.endBlock(true)
			return nil
		}
		l.lineNo++
		if tooLong {
			l.endBlock(false)
			l.bad(LineError{Line: l.lineNo, Msg: fmt.Sprintf("over %d MiB; skipped", MaxDumpLineBytes>>20)})
			continue
		}
		l.line(line, complete)
	}
}

// readLine returns the next line without its newline; complete is false
// for a last line without one. A line over MaxDumpLineBytes is read through
// and dropped (tooLong). nil, false, false, nil is the end.
func (l *loader) readLine() (line []byte, complete, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := l.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxDumpLineBytes {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, true, true, nil
			}
			return buf[:len(buf)-1], true, false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if tooLong {
				return nil, false, true, nil
			}
			if len(buf) == 0 {
				return nil, false, false, nil
			}
			return buf, false, false, nil
		default:
			return nil, false, false, err
		}
	}
}

// line handles one line of the file.
func (l *loader) line(line []byte, complete bool) {
	trimmed := bytes.TrimSpace(line)
	if l.block != nil {
		if l.block[0] == '{' && startsRecord(trimmed) {
			// A new one-line object: the block before it never closed.
			l.endBlock(false)
		} else {
			l.gather(line)
			return
		}
	}
	switch {
	case len(trimmed) == 0:
		return
	case string(trimmed) == "{" || string(trimmed) == "[":
		l.block, l.blockStart, l.blockScan = append([]byte{}, line...), l.lineNo, depthScanner{}
		l.blockScan.feed(line)
		l.block = append(l.block, '\n')
		return
	}
	l.object(trimmed, l.lineNo, l.lineNo, complete)
}

// gather adds a line to the pretty-printed object being read, and loads it
// once it closes.
func (l *loader) gather(line []byte) {
	if len(l.block)+len(line) > MaxDumpLineBytes {
		l.bad(LineError{Line: l.blockStart, EndLine: l.lineNo, Msg: fmt.Sprintf("an object over %d MiB; skipped", MaxDumpLineBytes>>20)})
		l.block = nil
		return
	}
	l.block = append(l.block, line...)
	l.block = append(l.block, '\n')
	if l.blockScan.feed(line) {
		block, start := l.block, l.blockStart
		l.block = nil
		l.object(bytes.TrimSpace(block), start, l.lineNo, true)
	}
}

// endBlock reports a pretty-printed object that never closed: at the end of
// the file (atEOF), or because a one-line object followed it.
func (l *loader) endBlock(atEOF bool) {
	if l.block == nil {
		return
	}
	end := l.lineNo
	if !atEOF {
		end = l.lineNo - 1
	}
	what := "object"
	if l.block[0] == '[' {
		what = "array"
	}
	msg := fmt.Sprintf("the %s opened on line %d never closes", what, l.blockStart)
	if atEOF {
		msg = fmt.Sprintf("cut short: the %s opened on line %d is still open at the end of the file", what, l.blockStart)
	}
	l.bad(LineError{Line: l.blockStart, EndLine: end, Msg: msg})
	l.block = nil
}

// startsRecord reports a line that opens a one-line OTLP/JSON object.
func startsRecord(trimmed []byte) bool {
	return bytes.HasPrefix(trimmed, []byte(`{"resource`))
}

// object loads one OTLP/JSON object, from lines first..last.
func (l *loader) object(obj []byte, first, last int, complete bool) {
	if isOtherSignal(obj) {
		l.rep.OtherSignals++
		return
	}
	td, err := l.um.UnmarshalTraces(obj)
	if err == nil {
		// pdata stops after the first value: a second object on the same
		// line (a newline lost between two writes) would vanish.
		end := topLevelEnd(obj)
		if end < 0 {
			end = len(obj)
		}
		rest := bytes.TrimSpace(obj[end:])
		l.store(td, obj[:end], first, last)
		switch {
		case len(rest) == 0:
		case first == last && startsRecord(rest):
			l.object(rest, first, last, complete)
		default:
			l.bad(LineError{Line: first, EndLine: last, Column: columnOf(first, last, end),
				Msg: fmt.Sprintf("text after the JSON object, from column %d; want one OTLP/JSON object per line", end+1)})
		}
		return
	}
	// A line whose start was cut short, with a whole object after it: the
	// file was appended to after a writer died mid-line.
	if first == last && startsRecord(obj) {
		if i := bytes.Index(obj[1:], []byte(`{"resourceSpans":`)); i >= 0 {
			i++
			if _, err2 := l.um.UnmarshalTraces(obj[i:]); err2 == nil {
				l.bad(LineError{Line: first, Column: 1, Msg: fmt.Sprintf("the first %d bytes are an object cut short (was its writer stopped mid-line?); the object from column %d loaded", i, i+1)})
				l.object(obj[i:], first, last, complete)
				return
			}
		}
	}
	d := diagnose(obj, err)
	msg := d.msg
	if !complete && strings.HasPrefix(msg, "cut short") {
		msg = "cut short: the last line has no newline and ends inside the JSON (was its writer stopped mid-line?)"
	}
	e := LineError{Line: first, EndLine: last, Msg: msg}
	if d.offset >= 0 && first == last {
		e.Column = d.offset + 1
	}
	l.bad(e)
}

// store ingests a decoded object and reports what it could not keep.
func (l *loader) store(td ptrace.Traces, obj []byte, first, last int) {
	if td.ResourceSpans().Len() == 0 {
		// pdata ignores fields it does not know: {"spans":[...]} decodes as
		// an empty request.
		if d := diagnose(obj, nil); !strings.HasPrefix(d.msg, "not OTLP/JSON traces") {
			l.bad(LineError{Line: first, EndLine: last, Msg: d.msg})
			return
		}
	}
	res := l.st.Ingest(td, l.origin)
	l.rep.Spans += res.Accepted
	l.rep.Objects++
	if first != last {
		l.rep.Multiline++
	}
	if res.Rejected > 0 {
		l.rep.Rejected += res.Rejected
		msg := fmt.Sprintf("%s not loaded: %s", english.Plural(res.Rejected, "span"), res.RejectReason)
		if d := diagnose(obj, nil); !strings.HasPrefix(d.msg, "not OTLP/JSON traces") {
			msg += " (" + d.msg + ")"
		}
		l.bad(LineError{Line: first, EndLine: last, Msg: msg})
	}
}

func columnOf(first, last, offset int) int {
	if first != last {
		return 0
	}
	return offset + 1
}

// depthScanner follows a JSON text's nesting outside strings, to find where
// a top-level value ends without decoding it.
type depthScanner struct {
	depth   int
	inStr   bool
	escaped bool
	started bool
}

// feed scans b and reports whether a top-level value closed in it.
func (d *depthScanner) feed(b []byte) bool {
	return d.scan(b) >= 0
}

// scan returns the offset just past the byte that closes the top-level
// value, or -1.
func (d *depthScanner) scan(b []byte) int {
	for i, c := range b {
		if d.inStr {
			switch {
			case d.escaped:
				d.escaped = false
			case c == '\\':
				d.escaped = true
			case c == '"':
				d.inStr = false
			}
			continue
		}
		switch c {
		case '"':
			d.inStr = true
		case '{', '[':
			d.depth++
			d.started = true
		case '}', ']':
			d.depth--
			if d.started && d.depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// topLevelEnd is the offset just past obj's first top-level value, or -1.
func topLevelEnd(obj []byte) int {
	var d depthScanner
	return d.scan(obj)
}
