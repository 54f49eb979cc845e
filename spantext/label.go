package spantext

import (
	"strings"
	"time"

	"github.com/traceproof/traceproof/spanstore"
)

// instanceLabel names the process a span came from, for the brackets of a
// tree: its service.instance.id or host.name; without either, the sender's
// address for a span that arrived over the network, and its service.name
// for one loaded from a file (whose sender is only the file's name, the same
// for every span in it).
func instanceLabel(s *spanstore.Span) string {
	for _, k := range []string{"service.instance.id", "host.name"} {
		if v, ok := s.Resource.Attributes.Get(k); ok {
			if str := v.AsString(); str != "" {
				return str
			}
		}
	}
	if s.Origin.Transport != spanstore.TransportFile && s.Origin.Sender != "" {
		return s.Origin.Sender
	}
	if svc := s.Service(); svc != "" {
		return svc
	}
	return "no instance"
}

// spanExtras is what TreeOptions Kind, Service and Times add to a span's
// line: its kind after the name, its service in the brackets, its start
// time before the duration.
type spanExtras struct{ kind, label, start string }

func (p *treePrinter) extras(s *spanstore.Span) spanExtras {
	e := spanExtras{label: instanceLabel(s)}
	if p.opt.Kind {
		e.kind = " " + strings.ToLower(s.Kind.String())
	}
	if p.opt.Service {
		if svc := s.Service(); svc != "" && svc != e.label {
			e.label += " " + svc
		}
	}
	if p.opt.Times {
		e.start = s.Start.In(p.location()).Format("15:04:05.000000") + " "
	}
	return e
}

func (p *treePrinter) location() *time.Location {
	if p.opt.Location != nil {
		return p.opt.Location
	}
	return time.Local
}

// traceDate is the date the header of a trace shows when TreeOptions.Times
// is set: the day of its first span, so the times under it read whole.
func (p *treePrinter) traceDate(spans []spanstore.Span) string {
	if !p.opt.Times || len(spans) == 0 {
		return ""
	}
	first := spans[0].Start
	for _, s := range spans[1:] {
		if s.Start.Before(first) {
			first = s.Start
		}
	}
	return " " + first.In(p.location()).Format("2006-01-02")
}
