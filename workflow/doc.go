// Package workflow owns ducha's domain: townships, villages, advisers and
// their assignments, activity records, users and roles; the finding lifecycle
// and its state machine; rounds, deadlines in working days, the escalation
// policy and the scheduler.
//
// It knows no SQL and no HTTP. What it needs from storage it declares as
// interfaces, which store/ implements and cmd/ wires.
package workflow
