package otlpsink

// A prototype for docs/BENCHMARKS.md, proposal 1: ingest an OTLP request
// straight from its protobuf bytes into records, without building pdata
// first. It reuses the store's own record layout, interner, resource and
// scope interning, indexing (Store.add), stats and eviction; only the step
// from bytes to spanRec differs. BenchmarkDirectIngest compares it with the
// current path (pdata decode + Store.Ingest) on the same requests, after
// checking that both paths store the same spans.
//
// It is test code and stays out of the build: a production version would
// live in convert.go, be used by the gRPC and HTTP receivers when no
// WithOnTraces hook needs pdata, and be fuzzed against pdata's decoder.

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/traceproof/traceproof/bench/spangen"
)

type directDecoder struct {
	st      *Store
	b       recBuilder
	resIDs  map[string]uint32 // encoded Resource + schema URL → resource ID
	scopeID map[string]uint32 // encoded InstrumentationScope → scope ID
	key     []byte
	events  [][]byte
	links   [][]byte
}

func newDirectDecoder(st *Store) *directDecoder {
	return &directDecoder{st: st, b: recBuilder{st: st}, resIDs: map[string]uint32{}, scopeID: map[string]uint32{}}
}

var errDirect = errors.New("malformed OTLP protobuf")

// fields calls f for each field of a message; f gets the wire type and either
// the varint/fixed value or the bytes of a length-delimited field.
func fields(buf []byte, f func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error) error {
	for len(buf) > 0 {
		num, typ, n := protowire.ConsumeTag(buf)
		if n < 0 {
			return errDirect
		}
		buf = buf[n:]
		var v uint64
		var b []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(buf)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(buf)
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(buf)
			v = uint64(v32)
		case protowire.BytesType:
			b, n = protowire.ConsumeBytes(buf)
		default:
			n = protowire.ConsumeFieldValue(num, typ, buf)
		}
		if n < 0 {
			return errDirect
		}
		buf = buf[n:]
		if err := f(num, typ, v, b); err != nil {
			return err
		}
	}
	return nil
}

// ingest is Store.ingestAt for an encoded ExportTraceServiceRequest.
func (d *directDecoder) ingest(req []byte, origin Origin) (IngestResult, error) {
	st := d.st
	var res IngestResult
	now := time.Now()
	received := now.UnixNano()
	st.mu.Lock()
	oi := st.originID(origin)
	var touched touchSet
	touched.init(len(st.watchers) > 0)
	err := fields(req, func(num protowire.Number, typ protowire.Type, _ uint64, rsBuf []byte) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		// ResourceSpans: resource (1) and schema_url (3) first, then the
		// scope spans (2), whatever their order on the wire.
		var resBuf, schema []byte
		if err := fields(rsBuf, func(num protowire.Number, typ protowire.Type, _ uint64, b []byte) error {
			switch {
			case num == 1 && typ == protowire.BytesType:
				resBuf = b
			case num == 3 && typ == protowire.BytesType:
				schema = b
			}
			return nil
		}); err != nil {
			return err
		}
		ri, err := d.resourceID(resBuf, schema)
		if err != nil {
			return err
		}
		spansOfResource := 0
		err = fields(rsBuf, func(num protowire.Number, typ protowire.Type, _ uint64, ssBuf []byte) error {
			if num != 2 || typ != protowire.BytesType {
				return nil
			}
			var scopeBuf []byte
			if err := fields(ssBuf, func(num protowire.Number, typ protowire.Type, _ uint64, b []byte) error {
				if num == 1 && typ == protowire.BytesType {
					scopeBuf = b
				}
				return nil
			}); err != nil {
				return err
			}
			si, err := d.scopeIDOf(scopeBuf)
			if err != nil {
				return err
			}
			return fields(ssBuf, func(num protowire.Number, typ protowire.Type, _ uint64, spBuf []byte) error {
				if num != 2 || typ != protowire.BytesType {
					return nil
				}
				rec, ok, err := d.span(spBuf, received, ri, si, oi)
				if err != nil {
					return err
				}
				if !ok {
					if res.Rejected == 0 {
						res.RejectReason = "span " + quoteName(st.strs.get(rec.name)) + " has an all-zero trace or span ID"
					}
					res.Rejected++
					return nil
				}
				st.add(rec, &touched)
				res.Accepted++
				spansOfResource++
				return nil
			})
		})
		if err != nil {
			return err
		}
		if spansOfResource > 0 {
			st.stats.instance(st.resources[ri].res, origin.Sender, spansOfResource, now)
		}
		return nil
	})
	if err != nil {
		// A production version would decode into a staging area first, so a
		// malformed request stores nothing; the prototype only benchmarks
		// well-formed ones.
		st.mu.Unlock()
		return res, err
	}
	st.stats.request(origin, res.Accepted, res.Rejected, now)
	if res.Rejected > 0 {
		st.stats.errorSent(fmt.Sprintf("rejected %d spans from %s: %s", res.Rejected, origin.Sender, res.RejectReason))
	}
	st.evict()
	chans := st.takeWatchers(&touched)
	st.mu.Unlock()
	for _, ch := range chans {
		close(ch)
	}
	return res, nil
}

func (d *directDecoder) resourceID(resBuf, schema []byte) (uint32, error) {
	d.key = append(append(append(d.key[:0], resBuf...), 0), schema...)
	if id, ok := d.resIDs[string(d.key)]; ok {
		return id, nil
	}
	r := pcommon.NewResource()
	if err := fields(resBuf, func(num protowire.Number, typ protowire.Type, _ uint64, b []byte) error {
		if num == 1 && typ == protowire.BytesType {
			k, v, err := decodeKV(b)
			if err != nil {
				return err
			}
			toPdata(v, r.Attributes().PutEmpty(k))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	id := d.st.resourceID(r, string(schema))
	d.resIDs[string(d.key)] = id
	return id, nil
}

func (d *directDecoder) scopeIDOf(scopeBuf []byte) (uint32, error) {
	if id, ok := d.scopeID[string(scopeBuf)]; ok {
		return id, nil
	}
	s := pcommon.NewInstrumentationScope()
	if err := fields(scopeBuf, func(num protowire.Number, typ protowire.Type, _ uint64, b []byte) error {
		switch num {
		case 1:
			s.SetName(string(b))
		case 2:
			s.SetVersion(string(b))
		case 3:
			k, v, err := decodeKV(b)
			if err != nil {
				return err
			}
			toPdata(v, s.Attributes().PutEmpty(k))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	id := d.st.scopeID(s)
	d.scopeID[string(scopeBuf)] = id
	return id, nil
}

// span is recBuilder.build for an encoded Span. ok is false for an all-zero
// trace or span ID.
func (d *directDecoder) span(buf []byte, received int64, res, scope, origin uint32) (r spanRec, ok bool, err error) {
	b := &d.b
	b.attrs, b.strs, b.extra = b.attrs[:0], b.strs[:0], b.extra[:0]
	d.events, d.links = d.events[:0], d.links[:0]
	r = spanRec{received: received, resource: res, scope: scope, origin: origin}
	err = fields(buf, func(num protowire.Number, typ protowire.Type, v uint64, f []byte) error {
		switch num {
		case 1:
			return copyID(r.traceID[:], f)
		case 2:
			return copyID(r.spanID[:], f)
		case 3:
			r.traceState = b.bytesRef(f)
		case 4:
			return copyID(r.parentID[:], f)
		case 5:
			r.name = d.intern(f)
		case 6:
			r.kind = SpanKind(int32(v))
		case 7:
			r.start = int64(v)
		case 8:
			r.end = int64(v)
		case 9:
			return d.attr(f)
		case 11:
			d.events = append(d.events, f)
		case 13:
			d.links = append(d.links, f)
		case 15:
			return fields(f, func(num protowire.Number, _ protowire.Type, v uint64, f []byte) error {
				switch num {
				case 2:
					r.statusMsg = b.bytesRef(f)
				case 3:
					r.status = StatusCode(int32(v))
				}
				return nil
			})
		case 16:
			r.flags = uint32(v)
		}
		return nil
	})
	if err != nil {
		return r, false, err
	}
	r.nAttrs = uint32(len(b.attrs))
	if len(d.events) > 0 {
		r.events = make([]eventRec, len(d.events))
		for i, ev := range d.events {
			e := eventRec{a0: uint32(len(b.attrs))}
			if err := fields(ev, func(num protowire.Number, _ protowire.Type, v uint64, f []byte) error {
				switch num {
				case 1:
					e.time = int64(v)
				case 2:
					e.name = d.intern(f)
				case 3:
					return d.attr(f)
				}
				return nil
			}); err != nil {
				return r, false, err
			}
			e.a1 = uint32(len(b.attrs))
			r.events[i] = e
		}
	}
	if len(d.links) > 0 {
		r.links = make([]linkRec, len(d.links))
		for i, lk := range d.links {
			l := linkRec{a0: uint32(len(b.attrs))}
			if err := fields(lk, func(num protowire.Number, _ protowire.Type, _ uint64, f []byte) error {
				switch num {
				case 1:
					return copyID(l.traceID[:], f)
				case 2:
					return copyID(l.spanID[:], f)
				case 3:
					l.traceState = b.bytesRef(f)
				case 4:
					return d.attr(f)
				}
				return nil
			}); err != nil {
				return r, false, err
			}
			l.a1 = uint32(len(b.attrs))
			r.links[i] = l
		}
	}
	if len(b.attrs) > 0 {
		r.attrs = append(make([]attr, 0, len(b.attrs)), b.attrs...)
	}
	if len(b.strs) > 0 {
		r.strs = append(make([]byte, 0, len(b.strs)), b.strs...)
	}
	if len(b.extra) > 0 {
		r.extra = append(make([]Value, 0, len(b.extra)), b.extra...)
	}
	return r, !r.traceID.IsZero() && !r.spanID.IsZero(), nil
}

func copyID(dst, src []byte) error {
	if len(src) != 0 && len(src) != len(dst) {
		return errDirect
	}
	copy(dst, src)
	return nil
}

func (b *recBuilder) bytesRef(s []byte) strRef {
	if len(s) == 0 {
		return 0
	}
	off := len(b.strs)
	b.strs = append(b.strs, s...)
	return mkStrRef(off, len(s))
}

// intern looks a name up without converting it to a string first.
func (d *directDecoder) intern(s []byte) uint32 {
	if id, ok := d.st.strs.ids[string(s)]; ok {
		return id
	}
	return d.st.strs.id(string(s))
}

// attr appends one encoded KeyValue to the builder: strings and bytes go
// straight into strs, with no intermediate string.
func (d *directDecoder) attr(kv []byte) error {
	b := &d.b
	a := attr{kind: KindEmpty}
	err := fields(kv, func(num protowire.Number, _ protowire.Type, _ uint64, f []byte) error {
		switch num {
		case 1:
			a.key = d.intern(f)
		case 2:
			return fields(f, func(num protowire.Number, _ protowire.Type, v uint64, f []byte) error {
				switch num {
				case 1:
					a.kind, a.num = KindString, uint64(b.bytesRef(f))
				case 2:
					a.kind, a.num = KindBool, BoolValue(v != 0).num
				case 3:
					a.kind, a.num = KindInt, v
				case 4:
					a.kind, a.num = KindDouble, v
				case 7:
					a.kind, a.num = KindBytes, uint64(b.bytesRef(f))
				case 5, 6:
					val, err := decodeAny(f, num)
					if err != nil {
						return err
					}
					a.kind, a.num = val.kind, uint64(len(b.extra))
					b.extra = append(b.extra, val)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.attrs = append(b.attrs, a)
	return nil
}

// decodeKV decodes a KeyValue into a self-contained key and Value: for
// resources, scopes and nested values, which are rare.
func decodeKV(kv []byte) (string, Value, error) {
	var key string
	var val Value
	err := fields(kv, func(num protowire.Number, _ protowire.Type, _ uint64, f []byte) error {
		var err error
		switch num {
		case 1:
			key = string(f)
		case 2:
			val, err = decodeAnyValue(f)
		}
		return err
	})
	return key, val, err
}

func decodeAnyValue(av []byte) (Value, error) {
	var val Value
	err := fields(av, func(num protowire.Number, _ protowire.Type, v uint64, f []byte) error {
		var err error
		switch num {
		case 1:
			val = StringValue(string(f))
		case 2:
			val = BoolValue(v != 0)
		case 3:
			val = IntValue(int64(v))
		case 4:
			val = DoubleValue(math.Float64frombits(v))
		case 7:
			val = BytesValue(f)
		case 5, 6:
			val, err = decodeAny(f, num)
		}
		return err
	})
	return val, err
}

// decodeAny decodes an ArrayValue (field 5) or KeyValueList (field 6).
func decodeAny(f []byte, num protowire.Number) (Value, error) {
	if num == 5 {
		list := []Value{}
		err := fields(f, func(n protowire.Number, _ protowire.Type, _ uint64, e []byte) error {
			if n != 1 {
				return nil
			}
			v, err := decodeAnyValue(e)
			list = append(list, v)
			return err
		})
		return SliceValue(list...), err
	}
	var kvs Attributes
	err := fields(f, func(n protowire.Number, _ protowire.Type, _ uint64, e []byte) error {
		if n != 1 {
			return nil
		}
		k, v, err := decodeKV(e)
		kvs = append(kvs, Attr{Key: k, Value: v})
		return err
	})
	return MapValue(kvs), err
}

// BenchmarkDirectIngest: op=pdata is today's path (pdata decode, then
// Store.Ingest), op=direct the prototype, on the same stamped requests; the
// store is replaced every 2^17 spans as in BenchmarkReceive. Compare with:
// benchstat -filter .name:DirectIngest -col /op.
func BenchmarkDirectIngest(b *testing.B) {
	origin := Origin{Sender: "127.0.0.1:50000", Transport: TransportGRPC, Encoding: EncodingProto}
	checkDirectMatchesPdata(b, origin)
	for _, batch := range []int{1, 100, 512} {
		for _, op := range []string{"pdata", "direct"} {
			b.Run(fmt.Sprintf("batch=%d/op=%s", batch, op), func(b *testing.B) {
				tpl := spangen.New(batch)
				buf := tpl.Bytes()
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				st := NewStore()
				d := newDirectDecoder(st)
				var seq uint64
				cpu0 := processCPU()
				for b.Loop() {
					tpl.Stamp(buf, seq)
					seq++
					if op == "pdata" {
						req := ptraceotlp.NewExportRequest()
						if err := req.UnmarshalProto(buf); err != nil {
							b.Fatal(err)
						}
						st.Ingest(req.Traces(), origin)
					} else if _, err := d.ingest(buf, origin); err != nil {
						b.Fatal(err)
					}
					if st.Len() >= 1<<17 {
						st = NewStore()
						d = newDirectDecoder(st)
					}
				}
				if cpu0 != 0 {
					b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*batch), "cpu-ns/span")
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/span")
			})
		}
	}
}

// checkDirectMatchesPdata stores the same requests through both paths and
// fails unless every span comes out equal.
func checkDirectMatchesPdata(tb testing.TB, origin Origin) {
	tpl := spangen.New(100)
	viaPdata, direct := NewStore(), NewStore()
	d := newDirectDecoder(direct)
	for seq := range uint64(3) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(tpl.Request(seq)); err != nil {
			tb.Fatal(err)
		}
		viaPdata.Ingest(req.Traces(), origin)
		if _, err := d.ingest(tpl.Request(seq), origin); err != nil {
			tb.Fatal(err)
		}
	}
	a, b := viaPdata.Spans(Filter{}), direct.Spans(Filter{})
	if len(a) != len(b) || len(a) != 300 {
		tb.Fatalf("pdata path stored %d spans, direct %d; want 300", len(a), len(b))
	}
	for i := range a {
		a[i].Received, b[i].Received = time.Time{}, time.Time{}
		if !reflect.DeepEqual(a[i], b[i]) {
			tb.Fatalf("span %d differs:\npdata:  %+v\ndirect: %+v", i, a[i], b[i])
		}
	}
	if got, want := len(direct.Correlated(spangen.CorrelationID(1))), spangen.SpansPerTask; got != want {
		tb.Fatalf("direct store: %d spans correlated with task 1, want %d", got, want)
	}
}
