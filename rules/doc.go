// Package rules owns the inspection checklist (督查工作清单): its file format,
// strict decoding with FILE:LINE:COL errors, compilation of rule conditions to
// expr programs against a typed environment, and evaluation of compiled rules
// against per-village facts.
//
// It is pure: it imports nothing of ducha's, reads no clock and does no I/O
// beyond the reader it is handed. The activity kinds (Kind) live here because
// they are the vocabulary of the checklist; the rest of ducha uses them.
package rules
