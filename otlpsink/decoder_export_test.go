package otlpsink

// Decoders are the two ways the sink decodes OTLP/protobuf trace requests,
// for tests and benchmarks that run against both: "direct" (the default,
// spanstore.Store.IngestProto) and "pdata" (the reference: pdata's
// UnmarshalProto, then Store.Ingest).
var Decoders = []struct {
	Name string
	Opt  Option
}{
	{"direct", optionFunc(func(c *config) { c.pdataDecoder = false })},
	{"pdata", optionFunc(func(c *config) { c.pdataDecoder = true })},
}
