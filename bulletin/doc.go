// Package bulletin renders what a county justice bureau publishes about its
// legal-adviser programme: inspection bulletins (督查通报) and work
// summaries (工作总结统计), as Markdown, HTML laid out like an official
// document (红头, A4), PDF, XLSX ledgers of findings (台账) and printable
// service cards (法律便民服务卡). A bulletin's PDF is typeset in Go
// (typeset.go, internal/pdf): printing its HTML with headless Chromium took
// most of a minute for 10,000 findings (issue #7). Summaries and cards are
// short and are still printed from their HTML by Chromium (Printer).
//
// A Bulletin is a frozen snapshot: whoever publishes it (the rounds engine)
// fills the struct once, stores it as JSON and renders it from the stored
// copy ever after. A Summary is filled by the store's set-based aggregate
// queries; its finding sections are optional and stay nil until the
// findings tables exist. The package reads no database and no clock.
package bulletin
