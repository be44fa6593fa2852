// Package checklists embeds the sample checklists so that `ducha demo` runs
// from a binary anywhere.
package checklists

import _ "embed"

// Checklist2018 is checklist-2018.yaml, the checklist the seed implies.
//
//go:embed checklist-2018.yaml
var Checklist2018 []byte
