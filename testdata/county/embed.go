// Package county embeds the sample county (villages.csv, advisers.csv,
// assignments.csv, activities.csv) so that `ducha demo` works from any
// folder, and tests can load it without knowing where they run.
package county

import "embed"

// Files holds the sample county's CSV files.
//
//go:embed *.csv
var Files embed.FS
