package mapping

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/statusbridge/statusbridge/bridge"
)

// CSVHeader is the header row WriteCSV writes; ReadCSV reads the first two
// columns and skips a first row whose first field is slack_user_id.
var CSVHeader = []string{"slack_user_id", "entra", "source", "found_at", "detail"}

// Row is one good row of an import file.
type Row struct {
	// Line is the row's line number in the file, counting from 1.
	Line int
	// Record is the row's index among the file's CSV records, counting from 0.
	Record int
	// SlackUserID is the Slack user id (U… or W…).
	SlackUserID string
	// EntraID is the Entra object id in lower case; empty when UPN is set.
	EntraID string
	// UPN is the userPrincipalName given instead of an object id; it still
	// needs a Graph lookup.
	UPN string
}

// RowError is a bad row of an import file: its line number and what is wrong.
type RowError struct {
	Line   int
	Reason string
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ReadCSV reads an import file of "slack_user_id,entra" rows, where entra is
// an Entra object id (a GUID) or a UPN. A header row, a UTF-8 byte order
// mark, blank lines, surrounding spaces and extra columns are allowed. It
// returns the good rows and one RowError per bad row, both in file order; a
// Slack user id given twice makes the later row bad. err is set only when r
// cannot be read.
func ReadCSV(r io.Reader) (rows []Row, bad []*RowError, err error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	seen := map[string]int{}
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, &RowError{pe.StartLine, fmt.Sprintf("not valid CSV: %v", pe.Err)})
				continue
			}
			return nil, nil, err
		}
		// Only after a good read: a record that failed in its first field has no positions.
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if len(rec) == 1 && rec[0] == "" {
			continue // blank line
		}
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		if n == 0 && strings.EqualFold(rec[0], CSVHeader[0]) {
			continue // header
		}
		if len(rec) < 2 || rec[1] == "" {
			bad = append(bad, &RowError{line, "want slack_user_id,entra"})
			continue
		}
		slackID, entra := rec[0], rec[1]
		if !bridge.ValidSlackUserID(slackID) {
			bad = append(bad, &RowError{line, fmt.Sprintf("%q is not a Slack user id (U… or W…)", slackID)})
			continue
		}
		if prev, ok := seen[slackID]; ok {
			bad = append(bad, &RowError{line, fmt.Sprintf("%s already appears on line %d; this row is skipped", slackID, prev)})
			continue
		}
		row := Row{Line: line, Record: n, SlackUserID: slackID}
		switch {
		case bridge.ValidEntraObjectID(entra):
			row.EntraID = strings.ToLower(entra)
		case strings.Contains(entra, "@"):
			row.UPN = entra
		default:
			bad = append(bad, &RowError{line, fmt.Sprintf("%q is neither an Entra object id (a GUID) nor a UPN", entra)})
			continue
		}
		seen[slackID] = line
		rows = append(rows, row)
	}
	return rows, bad, nil
}

// WriteCSV writes the mappings that name an Entra id, after CSVHeader, in
// a form ReadCSV reads back; negative entries are left out.
func WriteCSV(w io.Writer, ms []bridge.Mapping) error {
	cw := NewCSVWriter(w)
	for _, m := range ms {
		cw.Write(m)
	}
	return cw.Flush()
}

// CSVWriter writes mappings one at a time in WriteCSV's form, so an export
// streams: rows reach the underlying writer as its buffer fills.
type CSVWriter struct {
	cw     *csv.Writer
	header bool
}

// NewCSVWriter returns a CSVWriter that writes CSVHeader before the first row.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{cw: csv.NewWriter(w)} }

// Write writes m when it names an Entra id (negative entries are left out);
// it returns the underlying writer's first error, if any.
func (w *CSVWriter) Write(m bridge.Mapping) error {
	w.writeHeader()
	if m.EntraID == "" {
		return w.cw.Error()
	}
	w.cw.Write([]string{m.SlackUserID, m.EntraID, string(m.Source), m.FoundAt.UTC().Format(time.RFC3339), m.Detail})
	return w.cw.Error()
}

// Flush writes the header if no row came, and any buffered rows.
func (w *CSVWriter) Flush() error {
	w.writeHeader()
	w.cw.Flush()
	return w.cw.Error()
}

func (w *CSVWriter) writeHeader() {
	if !w.header {
		w.header = true
		w.cw.Write(CSVHeader)
	}
}
