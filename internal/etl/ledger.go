package etl

// Status is a run's or a step's state in the ledger (etl.run.status,
// etl.run_table.status). The SQL that filters on a status takes it as a parameter.
type Status string

const (
	StatusRunning   Status = "running"
	StatusSuccess   Status = "success"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
	// StatusAbandoned marks a run or step a killed process left running; the next
	// lock holder records it.
	StatusAbandoned Status = "abandoned"
)

// SkipReason says why a load step read nothing (etl.run_table.skip_reason).
type SkipReason string

const (
	// SkipNoFiles: the source had nothing for the table.
	SkipNoFiles SkipReason = "no_files"
	// SkipUnchangedFiles: every landing file was loaded before, unchanged and complete;
	// the table was checked and found current, so it counts as a success for freshness.
	SkipUnchangedFiles SkipReason = "unchanged_files"
	// SkipNothingChanged: a transform step whose table no change reached.
	SkipNothingChanged SkipReason = "nothing_changed"
)

// SourceKind names where raw rows come from (raw.*.etl_source, the ledger, --source).
type SourceKind string

const (
	SourceDir      SourceKind = "dir"
	SourceBigQuery SourceKind = "bigquery"
)

// ParseSourceKind reads --source / source.kind.
func ParseSourceKind(s string) (SourceKind, bool) {
	switch k := SourceKind(s); k {
	case SourceDir, SourceBigQuery:
		return k, true
	}
	return "", false
}
