package otlpsink

import (
	"errors"
	"strings"

	"github.com/traceproof/traceproof/spanstore"
)

// explainJSON turns pdata's OTLP/JSON decode error, which shows its parser's
// position dump ("ID.UnmarshalJSONIter: length mismatch, error found in #10
// byte of ..."), into what the sender can act on: for traces, the field
// that is wrong and what OTLP/JSON wants there (spanstore.DiagnoseTracesJSON);
// for metrics and logs, the error without the dump.
//
// A body over maxDiagnosedBytes gets the stripped error only: the diagnosis
// decodes the body again, generically, and a refused request must stay
// cheap.
func explainJSON(sig signal, data []byte, err error) error {
	if sig.name == "traces" && len(data) <= maxDiagnosedBytes {
		return errors.New(spanstore.DiagnoseTracesJSON(data, err))
	}
	msg, _, _ := strings.Cut(err.Error(), ", error found in #")
	return errors.New(msg)
}

const maxDiagnosedBytes = 1 << 20
